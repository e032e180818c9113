"""The forecasting tables in gold."""

from __future__ import annotations

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.io.delta import create_tables_if_missing
from parkpal_lakehouse.names import FORECAST_ACCURACY_DAILY, ZONE_OCCUPANCY_FORECAST

# One row per zone and target hour of a scoring run; `forecast_made_at` is the run hour (the end of
# the last observed hour), `target_hour` = forecast_made_at + horizon_hours - 1 h.
ZONE_OCCUPANCY_FORECAST_DDL = (
    "zone_id BIGINT, forecast_made_at TIMESTAMP, target_hour TIMESTAMP, horizon_hours INT, "
    "predicted_occupancy_rate DOUBLE, lower_occupancy_rate DOUBLE, upper_occupancy_rate DOUBLE, "
    "predicted_occupied DOUBLE, capacity DOUBLE, model_name STRING, model_version STRING, scored_at TIMESTAMP, "
    "forecast_date DATE"
)
# Per local day of the target hours, model version, zone type and horizon: forecasts vs actuals.
FORECAST_ACCURACY_DAILY_DDL = (
    "accuracy_date DATE, model_name STRING, model_version STRING, zone_type STRING, horizon_hours INT, "
    "forecasts BIGINT, mae DOUBLE, rmse DOUBLE, bias DOUBLE, interval_coverage DOUBLE, "
    "persistence_mae DOUBLE, computed_at TIMESTAMP"
)
FORECAST_TABLES = {
    ZONE_OCCUPANCY_FORECAST: (ZONE_OCCUPANCY_FORECAST_DDL, ("forecast_date",)),
    FORECAST_ACCURACY_DAILY: (FORECAST_ACCURACY_DAILY_DDL, ("accuracy_date",)),
}


def prepare_forecast_tables(spark: SparkSession, config: LakehouseConfig) -> None:
    create_tables_if_missing(spark, config, [(logical, ddl, partitions)
                                             for logical, (ddl, partitions) in FORECAST_TABLES.items()])
