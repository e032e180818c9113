"""Forecasting tests' shared data: four weeks of simulated occupancy for a small city, as an
operator export (with its defects) and as truth, and a config whose backtest fits that much history."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.config import ForecastSettings, LakehouseConfig, local_config
from parkpal_lakehouse.forecasting.series_source import SeriesSource, load_series
from parkpal_lakehouse.gold.schemas import prepare_gold_tables
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.writers import append_rows
from parkpal_lakehouse.names import ZONE_METRICS_HOURLY
from parkpal_lakehouse.simulator.history import write_history
from parkpal_lakehouse.simulator.settings import SimulationSettings

HISTORY_SETTINGS = SimulationSettings(seed=5, zones=6, users=1500)
HISTORY_WEEKS = 4
# 8 days of lags + 3 to fit + 4 of backtest + 1 held out = 16 days needed; 28 given.
SMALL_FORECAST = ForecastSettings(backtest_days=4, backtest_folds=2, holdout_days=1, min_training_days=3,
                                  training_origin_step_hours=3)


@dataclass(frozen=True)
class History:
    root: Path
    csv: Path
    truth: pd.DataFrame


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> History:
    root = tmp_path_factory.mktemp("history")
    csv, truth = write_history(HISTORY_SETTINGS, HISTORY_WEEKS, root)
    return History(root, csv, truth)


def forecast_config(root: Path, mlflow_uri: str | None = None, **changes) -> LakehouseConfig:
    config = local_config(root)
    settings = replace(SMALL_FORECAST, tracking_uri=mlflow_uri, registry_uri=mlflow_uri, **changes)
    return replace(config, forecast=settings)


@pytest.fixture(scope="session")
def history_series(spark, history, tmp_path_factory) -> DataFrame:
    config = forecast_config(tmp_path_factory.mktemp("series"))
    series, _ = load_series(spark, config, SeriesSource(input_path=str(history.csv)))
    return series


def write_gold_metrics(spark, config: LakehouseConfig, truth: pd.DataFrame) -> None:
    """The history's truth as gold.zone_metrics_hourly rows (the columns forecasting reads)."""
    prepare_gold_tables(spark, config)
    frame = spark.createDataFrame(truth.assign(zone_id=truth.zone_id.astype("int64")))
    rows = frame.select(
        "zone_id", "hour_start", "zone_type", F.col("capacity").cast("int").alias("capacity"),
        F.col("occupied").alias("occupied_avg"), "occupancy_rate",
        F.lit("gate").alias("occupancy_source"),
        F.to_date(F.from_utc_timestamp("hour_start", config.timezone)).alias("metric_date"))
    empty = read_table(spark, config, ZONE_METRICS_HOURLY).limit(0)
    append_rows(empty.unionByName(rows, allowMissingColumns=True), config, ZONE_METRICS_HOURLY)
