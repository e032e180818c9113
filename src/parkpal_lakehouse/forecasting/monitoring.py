"""`parkpal forecast monitor`: yesterday's forecasts against what happened.

For one local day (default: the newest complete day in gold), every forecast whose target hour falls
on it is joined with the actual occupancy in `gold.zone_metrics_hourly`, and summarised per model
version, zone type and horizon: MAE, RMSE, bias, share of actuals inside the interval, and the MAE
persistence would have had on the same forecasts. The day's rows of `gold.forecast_accuracy_daily`
are replaced in one commit (rerunning a day is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.schemas import prepare_forecast_tables
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.writers import replace_where
from parkpal_lakehouse.names import FORECAST_ACCURACY_DAILY, ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST


def forecast_accuracy(forecasts: DataFrame, actuals: DataFrame, day: date, timezone: str) -> DataFrame:
    """Forecasts for target hours on local `day` vs actuals -> accuracy rows (pure).

    `actuals`: zone_id, hour_start, zone_type, occupancy_rate (gold.zone_metrics_hourly's columns)."""
    local_day = F.to_date(F.from_utc_timestamp("target_hour", timezone))
    actual = actuals.select("zone_id", F.col("hour_start").alias("target_hour"), "zone_type",
                            F.col("occupancy_rate").alias("actual_rate"))
    at_origin = actuals.select("zone_id", (F.col("hour_start") + F.expr("INTERVAL 1 HOUR")).alias("forecast_made_at"),
                               F.col("occupancy_rate").alias("origin_rate"))
    joined = (forecasts.where(local_day == F.lit(day))
              .join(actual, ["zone_id", "target_hour"])
              .join(at_origin, ["zone_id", "forecast_made_at"], "left")
              .withColumn("err", F.col("predicted_occupancy_rate") - F.col("actual_rate")))
    inside = ((F.col("actual_rate") >= F.col("lower_occupancy_rate"))
              & (F.col("actual_rate") <= F.col("upper_occupancy_rate")))
    return (joined.groupBy("model_name", "model_version", "zone_type", "horizon_hours").agg(
        F.count(F.lit(1)).alias("forecasts"), F.avg(F.abs("err")).alias("mae"),
        F.sqrt(F.avg(F.col("err") * F.col("err"))).alias("rmse"), F.avg("err").alias("bias"),
        F.avg(inside.cast("double")).alias("interval_coverage"),
        F.avg(F.abs(F.col("origin_rate") - F.col("actual_rate"))).alias("persistence_mae"))
        .select(F.lit(day).alias("accuracy_date"), "model_name", "model_version", "zone_type",
                F.col("horizon_hours").cast("int"), "forecasts", "mae", "rmse", "bias", "interval_coverage",
                "persistence_mae", F.current_timestamp().alias("computed_at")))


@dataclass(frozen=True)
class MonitoringReport:
    day: date
    forecasts: int
    mae: float | None
    coverage: float | None
    versions: list[str]
    by_horizon: tuple[tuple[int, int, float, float], ...] = ()  # horizon, forecasts, MAE, interval coverage

    def lines(self) -> list[str]:
        if not self.forecasts:
            return [f"{self.day}: no forecasts with actuals for that day; nothing written"]
        out = [f"{self.day}: {self.forecasts:,} forecasts scored against actuals (versions "
               f"{', '.join(self.versions)}): MAE {100 * self.mae:.2f} pp, interval coverage {self.coverage:.0%}; "
               f"written to {FORECAST_ACCURACY_DAILY}"]
        shown = [r for r in self.by_horizon if r[0] in (1, 6, 24)]
        if shown:
            out.append("  by horizon: " + "; ".join(f"{h} h MAE {100 * mae:.2f} pp, {cov:.0%} inside the interval "
                                                    f"(n {n:,})" for h, n, mae, cov in shown))
        return out


def newest_complete_day(spark: SparkSession, config: LakehouseConfig) -> date:
    local = F.to_date(F.from_utc_timestamp("hour_start", config.timezone))
    counts = (read_table(spark, config, ZONE_METRICS_HOURLY).select(local.alias("d"), "hour_start")
              .groupBy("d").agg(F.countDistinct("hour_start").alias("hours")).where("hours = 24"))
    newest = counts.agg(F.max("d")).first()[0]
    if newest is None:
        raise ParkPalError("gold.zone_metrics_hourly has no complete day yet: run `parkpal hourly` first")
    return newest


def run_monitoring(spark: SparkSession, config: LakehouseConfig, day: date | None = None) -> MonitoringReport:
    prepare_forecast_tables(spark, config)
    day = day or newest_complete_day(spark, config)
    first, last = day - timedelta(days=1), day + timedelta(days=2)
    forecasts = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).where(
        F.col("forecast_date").between(F.lit(first - timedelta(days=1)), F.lit(last)))
    actuals = read_table(spark, config, ZONE_METRICS_HOURLY).where(
        F.col("metric_date").between(F.lit(first), F.lit(last)))
    rows = forecast_accuracy(forecasts, actuals, day, config.timezone).localCheckpoint()
    weighted = F.sum("forecasts")
    summary = rows.agg(F.sum("forecasts").alias("n"),
                       (F.sum(F.col("mae") * F.col("forecasts")) / weighted).alias("mae"),
                       (F.sum(F.col("interval_coverage") * F.col("forecasts")) / weighted).alias("cov"),
                       F.sort_array(F.collect_set("model_version")).alias("versions")).first()
    if not summary["n"]:
        return MonitoringReport(day, 0, None, None, [])
    replace_where(rows, config, FORECAST_ACCURACY_DAILY, f"accuracy_date = '{day.isoformat()}'", ("accuracy_date",))
    per_horizon = rows.groupBy("horizon_hours").agg(
        F.sum("forecasts").alias("n"), (F.sum(F.col("mae") * F.col("forecasts")) / weighted).alias("mae"),
        (F.sum(F.col("interval_coverage") * F.col("forecasts")) / weighted).alias("cov")).orderBy("horizon_hours")
    by_horizon = tuple((int(r["horizon_hours"]), int(r["n"]), float(r["mae"]), float(r["cov"]))
                       for r in per_horizon.collect())
    return MonitoringReport(day, int(summary["n"]), summary["mae"], summary["cov"], list(summary["versions"]),
                            by_horizon)
