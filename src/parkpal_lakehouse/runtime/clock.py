"""The Python process's time zone: UTC, as on a Databricks driver.

PySpark turns a collected TIMESTAMP into a naive `datetime` in the Python process's local time zone, and a
naive `datetime` given to Spark back the same way (`TimestampType.fromInternal` / `toInternal`), whatever
`spark.sql.session.timeZone` says (UTC here, for Spark SQL). The pipeline reads and writes instants as naive
UTC datetimes where it meets Spark (the hourly job's closed hours and change window, the audit's newest
hour, the forecasts' origins), which holds only while the process's zone is UTC: on a laptop set to
Asia/Manila every such instant would move by 8 hours. Each door (the `parkpal` command, a step's entry point
or notebook, the tests, the benchmarks) calls `use_utc` first.
"""

from __future__ import annotations

import os
import time


def use_utc() -> None:
    """Make this process's local time zone UTC (`TZ`; also inherited by the Spark JVM started after it)."""
    if os.environ.get("TZ") != "UTC":
        os.environ["TZ"] = "UTC"
        time.tzset()
