"""Gold quality checks after the hourly job has written: the hourly job's second task.

The hourly job validates each range *before* writing it (`gold/quality.py`); this audit checks what
only the written tables can show: one row per zone and hour, every zone known to `gold.dim_zone`,
gold keeping up with silver, forecasts inside their own intervals. Results go to
`ops.quality_results` (suite `gold_audit`); a failing `fail` expectation fails the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import great_expectations.expectations as gxe
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.gold.hourly import closed_until
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.io.writers import append_rows, side_by_side
from parkpal_lakehouse.names import DIM_ZONE, QUALITY_RESULTS, ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST
from parkpal_lakehouse.quality.expectations import Expectation, Policy
from parkpal_lakehouse.quality.runner import check_quality, results_frame

# The window of hours audited: recent enough to be cheap every hour, long enough to see a day's repair.
AUDIT_WINDOW_HOURS = 48

ZONE_HOUR_KEYS_SUITE: tuple[Expectation, ...] = (
    Expectation("gold_one_row_per_zone_hour",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="rows", min_value=1, max_value=1), Policy.FAIL),
)
KNOWN_ZONES_SUITE: tuple[Expectation, ...] = (
    Expectation("gold_zones_in_dim_zone",
                lambda: gxe.ExpectColumnValuesToBeInSet(column="zone_known", value_set=[True]), Policy.FAIL),
)
FORECAST_SUITE: tuple[Expectation, ...] = (
    Expectation("forecast_inside_its_interval",
                lambda: gxe.ExpectColumnValuesToBeInSet(column="inside_interval", value_set=[True]), Policy.FAIL),
    Expectation("forecast_rate_0_to_1",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="predicted_occupancy_rate", min_value=0.0,
                                                          max_value=1.0), Policy.FAIL),
)


def freshness_suite(max_lag_hours: int) -> tuple[Expectation, ...]:
    return (Expectation(f"gold_at_most_{max_lag_hours}h_behind_silver",
                        lambda: gxe.ExpectColumnValuesToBeBetween(column="hours_behind", min_value=0,
                                                                  max_value=max_lag_hours), Policy.FAIL),)


def zone_hour_rows(metrics: DataFrame) -> DataFrame:
    """One row per (zone, hour) present in `metrics`, with how many rows it has (1 when the key holds)."""
    return metrics.groupBy("zone_id", "hour_start").agg(F.count(F.lit(1)).alias("rows"))


def zones_known(metrics: DataFrame, dim_zone: DataFrame) -> DataFrame:
    """One row per zone in `metrics`: whether `gold.dim_zone` has it."""
    known = dim_zone.select("zone_id").distinct().withColumn("zone_known", F.lit(True))
    return (metrics.select("zone_id").distinct().join(known, "zone_id", "left")
            .select("zone_id", F.coalesce("zone_known", F.lit(False)).alias("zone_known")))


def gold_lag(newest_gold_hour: datetime | None, silver_closed_until: datetime | None) -> float:
    """Hours between the end of silver's last closed hour and the end of gold's newest hour."""
    if silver_closed_until is None:
        return 0.0
    if newest_gold_hour is None:
        return float("inf")
    return max(0.0, (silver_closed_until - (newest_gold_hour + timedelta(hours=1))).total_seconds() / 3600)


def forecast_intervals(forecasts: DataFrame) -> DataFrame:
    """One row per forecast: its rate and whether lower <= predicted <= upper."""
    inside = F.col("lower_occupancy_rate") <= F.col("predicted_occupancy_rate")
    inside &= F.col("predicted_occupancy_rate") <= F.col("upper_occupancy_rate")
    return forecasts.select("predicted_occupancy_rate", F.coalesce(inside, F.lit(False)).alias("inside_interval"))


@dataclass(frozen=True)
class AuditReport:
    window: tuple[datetime, datetime]
    checked: list[str]
    failed: list[str]
    lag_hours: float

    def lines(self) -> list[str]:
        lag = "no gold yet" if self.lag_hours == float("inf") else f"{self.lag_hours:.0f} h behind silver"
        verdict = "all passed" if not self.failed else "FAILED: " + ", ".join(self.failed)
        return [f"gold audit of {self.window[0]:%Y-%m-%d %H:%M}-{self.window[1]:%Y-%m-%d %H:%M} UTC: "
                f"{len(self.checked)} expectations, {verdict}; gold is {lag}; results in ops.quality_results"]


def audit_gold(spark: SparkSession, config: LakehouseConfig, max_lag_hours: int = 3) -> AuditReport:
    """Run the post-write checks on the last `AUDIT_WINDOW_HOURS` of gold; record every result."""
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY)
    # Gold's newest hour and silver's closed hours are independent reads, and the checks below each validate
    # their own small frame: side by side, one's planning and GX run overlap another's Spark job (issue 21,
    # fiftieth part: an audit of the test city 2.86 -> 2.23 s, each of six rounds faster).
    newest, until = side_by_side([lambda: metrics.agg(F.max("hour_start")).first()[0],
                                  lambda: closed_until(spark, config)])
    newest = newest.replace(tzinfo=UTC) if newest else None  # collected in the process's zone: UTC (runtime/clock)
    end = (newest + timedelta(hours=1)) if newest else (until or datetime.now(UTC).replace(minute=0, second=0,
                                                                                          microsecond=0))
    window = (end - timedelta(hours=AUDIT_WINDOW_HOURS), end)
    recent = metrics.where(F.col("hour_start") >= F.lit(window[0]))
    lag = gold_lag(newest, until)
    frames = [  # (frame, table, suite): each checked on its own, side by side
        (zone_hour_rows(recent), ZONE_METRICS_HOURLY, ZONE_HOUR_KEYS_SUITE),
        (zones_known(recent, read_table(spark, config, DIM_ZONE)), ZONE_METRICS_HOURLY, KNOWN_ZONES_SUITE),
        (spark.createDataFrame([(min(lag, 1e6),)], "hours_behind DOUBLE"), ZONE_METRICS_HOURLY,
         freshness_suite(max_lag_hours)),
    ]
    if table_exists(spark, config, ZONE_OCCUPANCY_FORECAST):
        forecasts = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).where(
            F.col("forecast_made_at") >= F.lit(window[0]))
        frames.append((forecast_intervals(forecasts), ZONE_OCCUPANCY_FORECAST, FORECAST_SUITE))
    checks = side_by_side([partial(check_quality, *checked, window=window) for checked in frames])
    results = [dict(r, suite="gold_audit") for c in checks for r in c.results]
    append_rows(results_frame(spark, results), config, QUALITY_RESULTS)
    return AuditReport(window, [r["expectation"] for r in results], [n for c in checks for n in c.failed], lag)
