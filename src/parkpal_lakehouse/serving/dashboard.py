"""`parkpal dashboard`: the operator dashboard as one self-contained HTML report generated from gold.

The pages the product design asks of Power BI: zone performance (average circling time, circling trend,
busiest zones), competitor view (circling vs occupancy per zone), revenue (occupancy heat map by local
hour x weekday) and forecast vs actual; filterable by operator and zone in the page (also by URL hash,
`#operator=LGU%20Makati&zone=11`). Data goes in as additive aggregates per zone, so any selection of
zones is summed in the browser without going back to Spark. No scripts or fonts from the internet.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.names import DIM_DATE, DIM_ZONE, ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST


def zone_day_frame(metrics: DataFrame, dim_date: DataFrame) -> DataFrame:
    """Per zone and local day: additive sums (circling weighted by parked searches, occupancy hours: all
    vehicles with its interval, and app users only)."""
    return (metrics.join(dim_date.select("date_key", "date", "day_of_week"), "date_key")
            .groupBy("zone_id", "date", "day_of_week")
            .agg(F.sum("searches_started").alias("searches"), F.sum("parked").alias("parked"),
                 F.sum(F.coalesce(F.col("circling_seconds_avg") * F.col("parked"), F.lit(0.0))).alias("circling_sum"),
                 F.sum(F.when(F.col("circling_seconds_avg").isNotNull(), F.col("parked")).otherwise(0))
                 .alias("circling_n"),
                 F.sum("occupancy_rate").alias("occupancy_sum"), F.count("occupancy_rate").alias("occupancy_n"),
                 F.sum("occupancy_rate_low").alias("occupancy_low_sum"),
                 F.sum("occupancy_rate_high").alias("occupancy_high_sum"),
                 F.sum(F.col("app_occupied_avg") / F.col("capacity")).alias("app_occupancy_sum"),
                 F.sum("revenue").alias("revenue"))
            .orderBy("zone_id", "date"))


def zone_week_hour_frame(metrics: DataFrame, dim_date: DataFrame) -> DataFrame:
    """Per zone, ISO weekday (1 = Monday) and local hour: occupancy sums and revenue (the heat map)."""
    return (metrics.join(dim_date.select("date_key", "day_of_week"), "date_key")
            .groupBy("zone_id", "day_of_week", "hour_key")
            .agg(F.sum("occupancy_rate").alias("occupancy_sum"), F.count("occupancy_rate").alias("occupancy_n"),
                 F.sum("revenue").alias("revenue"))
            .orderBy("zone_id", "day_of_week", "hour_key"))


def forecast_vs_actual_frame(forecasts: DataFrame, metrics: DataFrame) -> DataFrame:
    """Per zone and target hour: the latest forecast made for it, and the occupancy that happened."""
    latest = Window.partitionBy("zone_id", "target_hour").orderBy(F.col("forecast_made_at").desc())
    chosen = (forecasts.withColumn("_rank", F.row_number().over(latest)).where("_rank = 1")
              .select("zone_id", "target_hour", "predicted_occupancy_rate", "lower_occupancy_rate",
                      "upper_occupancy_rate"))
    actual = metrics.select("zone_id", F.col("hour_start").alias("target_hour"),
                            F.col("occupancy_rate").alias("actual_occupancy_rate"))
    return chosen.join(actual, ["zone_id", "target_hour"], "left").orderBy("zone_id", "target_hour")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    return value


def _rows(df: DataFrame) -> list[list[Any]]:
    return [[_plain(v) for v in row] for row in df.collect()]


def dashboard_data(spark: SparkSession, config: LakehouseConfig) -> dict[str, Any]:
    """Everything the report draws, as JSON-ready lists (column names alongside)."""
    if not table_exists(spark, config, ZONE_METRICS_HOURLY):
        raise ParkPalError(f"no gold.zone_metrics_hourly under {config.storage_root}; run `parkpal hourly` "
                           "(or `parkpal demo`) first")
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY)
    dim_date = read_table(spark, config, DIM_DATE)
    sources = metrics.groupBy("zone_id").agg(F.max("occupancy_source").alias("occupancy_source"))
    zones = (read_table(spark, config, DIM_ZONE).where("is_current")
             .select("zone_id", "name", "operator", "city", "zone_type", "capacity")
             .join(sources, "zone_id", "left").orderBy("zone_id"))
    days = zone_day_frame(metrics, dim_date)
    week = zone_week_hour_frame(metrics, dim_date)
    data: dict[str, Any] = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "zones": {"columns": zones.columns, "rows": _rows(zones)},
        "days": {"columns": days.columns, "rows": _rows(days)},
        "week": {"columns": week.columns, "rows": _rows(week)},
        "forecast": {"columns": [], "rows": []},
    }
    if table_exists(spark, config, ZONE_OCCUPANCY_FORECAST):
        fva = forecast_vs_actual_frame(read_table(spark, config, ZONE_OCCUPANCY_FORECAST), metrics)
        data["forecast"] = {"columns": fva.columns, "rows": _rows(fva)}
    return data


def _inline(value: Any) -> str:
    """JSON for an inline script: a `<` in a name cannot end the script."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def render_dashboard(data: dict[str, Any], live: dict[str, Any] | None = None) -> str:
    """The HTML report: the template with the data inlined; with `live` (`status_url`, `poll_ms`: what
    `parkpal dashboard serve` passes) the page polls the zone status and redraws it in place."""
    template = resources.files("parkpal_lakehouse.serving").joinpath("dashboard.html").read_text()
    return (template.replace("/*__PARKPAL_DATA__*/null", _inline(data))
            .replace("/*__PARKPAL_LIVE__*/null", _inline(live)))


def write_dashboard(spark: SparkSession, config: LakehouseConfig, out: str | Path) -> Path:
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_dashboard(dashboard_data(spark, config)))
    return target
