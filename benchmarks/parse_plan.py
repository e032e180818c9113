"""Building silver's parse plan on the driver, per hub, in one warm session (issue 21): with the parse's
columns built afresh each time (as before the thirteenth part) and with the columns kept per driver
(`silver.parse.parse_columns`), beside the reference of a plain `from_json` plan over the same frame.
Each plan is built on an empty bronze frame, so this is driver work only (what every silver query start,
every ingestion and every balance check pays before any data moves). Prints seconds and Py4J round trips.

    .venv/bin/python benchmarks/parse_plan.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import py4j.clientserver
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import peak_rss_mib, timed  # noqa: E402

from parkpal_lakehouse.bronze import bronze_records  # noqa: E402
from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub, wire_schema  # noqa: E402
from parkpal_lakehouse.contracts.reference import zones_df  # noqa: E402
from parkpal_lakehouse.io.sources import RAW_SCHEMA  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, build_local_session  # noqa: E402
from parkpal_lakehouse.silver import parse  # noqa: E402

_calls = [0]
_send = py4j.clientserver.ClientServerConnection.send_command


def _counting(self, command):  # type: ignore[no-untyped-def]
    _calls[0] += 1
    return _send(self, command)


def measure(build, bronze, hub: Hub) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Seconds and Py4J round trips to build one plan and read its schema (the analysed plan)."""
    before = _calls[0]
    _, seconds = timed(lambda: build(bronze, hub).schema)
    return seconds, _calls[0] - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    py4j.clientserver.ClientServerConnection.send_command = _counting
    with tempfile.TemporaryDirectory() as root:
        spark = build_local_session(local_config(Path(root)), LocalSparkSettings(master="local[2]",
                                                                                 shuffle_partitions=2))
        zones = zones_df(spark).localCheckpoint()
        fresh_columns = parse._build_parse_columns

        def fresh(bronze, hub):  # type: ignore[no-untyped-def]
            """The parse with its columns built now (every call, as before they were kept)."""
            kept, parse.parse_columns = parse.parse_columns, fresh_columns
            try:
                return parse.parsed_events(bronze, hub, zones)
            finally:
                parse.parse_columns = kept

        ways = {
            "reference: from_json plan": lambda bronze, hub: bronze.select(
                F.from_json("body", wire_schema(hub)).alias("e")).select("e.*"),
            "parse, columns built afresh": fresh,
            "parse, columns kept (now)": lambda bronze, hub: parse.parsed_events(bronze, hub, zones),
        }
        for hub in Hub:  # warm-up: the JVM's classes for every step, and the kept columns built once
            bronze = bronze_records(spark.createDataFrame([], RAW_SCHEMA), hub).drop("ingest_date")
            for build in ways.values():
                measure(build, bronze, hub)
        print(f"{'plan':<30} {'hub':<17} {'median s':>9} {'min s':>7} {'Py4J calls':>11}")
        for name, build in ways.items():
            for hub in Hub:
                bronze = bronze_records(spark.createDataFrame([], RAW_SCHEMA), hub).drop("ingest_date")
                runs = [measure(build, bronze, hub) for _ in range(args.rounds)]
                seconds = [s for s, _ in runs]
                print(f"{name:<30} {hub.value:<17} {statistics.median(seconds):>9.2f} {min(seconds):>7.2f} "
                      f"{runs[-1][1]:>11,}")
        print(f"peak memory of this process {peak_rss_mib():.0f} MiB")
        spark.stop()


if __name__ == "__main__":
    main()
