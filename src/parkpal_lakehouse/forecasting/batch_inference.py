"""`parkpal forecast score`: the champion forecasts the next 24 hours of every zone into gold.

The run is for one origin: the last observed hour (default: the newest hour of the series, or
`--as-of`). It loads `models:/<name>@champion`, builds the feature rows of that origin for horizons
1-24 and replaces that run hour's rows of `gold.zone_occupancy_forecast` in one Delta commit: a rerun
of the same hour leaves the same table. Target hours outside a zone's reporting hours (a car park
that reports only while open) are not written: the model flags them and the run says how many.
The calendar (timezone, holidays) is the one the champion was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, FEATURE_LOOKBACK, ForecastCalendar, forecast_rows
from parkpal_lakehouse.forecasting.model import load_occupancy_model
from parkpal_lakehouse.forecasting.online import (
    KEEP_ORIGINS,
    feature_store_path,
    feature_table_rows,
    publish_features,
)
from parkpal_lakehouse.forecasting.registry import CHAMPION, open_registry
from parkpal_lakehouse.forecasting.schemas import ZONE_OCCUPANCY_FORECAST_DDL, prepare_forecast_tables
from parkpal_lakehouse.forecasting.series import hourly_grid
from parkpal_lakehouse.io.delta import create_table_if_missing
from parkpal_lakehouse.io.writers import replace_where, side_by_side
from parkpal_lakehouse.names import ZONE_FORECAST_FEATURES, ZONE_OCCUPANCY_FORECAST


@dataclass(frozen=True)
class ScoreReport:
    model_version: str
    forecast_made_at: datetime
    zones: int
    rows: int
    outside_reporting_hours: int = 0

    def lines(self) -> list[str]:
        skipped = (f"; {self.outside_reporting_hours:,} target hours outside their zone's reporting hours not "
                   "forecast" if self.outside_reporting_hours else "")
        return [f"scored {self.zones} zones, 24 hours ahead: {self.rows:,} forecasts made at "
                f"{self.forecast_made_at:%Y-%m-%d %H:00} UTC with version {self.model_version} (@{CHAMPION}) into "
                f"{ZONE_OCCUPANCY_FORECAST}{skipped}"]


def origin_feature_rows(spark: SparkSession, series: DataFrame, origin: datetime, calendar: ForecastCalendar,
                        horizons: int) -> DataFrame:
    """Feature rows of one origin hour for horizons 1..`horizons` (targets after the series' end).

    Every zone's grid reaches the origin: a zone whose newest readings are missing gets gaps there
    (its lags carry the last reading forward) rather than fewer forecasts."""
    hour = F.col("hour_start")
    window = series.where((hour > F.lit(origin - FEATURE_LOOKBACK)) & (hour <= F.lit(origin)))
    window = hourly_grid(window, last_hour=F.lit(origin))
    rows = forecast_rows(spark, window, calendar, horizons, with_future=True)
    return rows.where(F.col("origin_hour") == F.lit(origin))


def origin_features(spark: SparkSession, series: DataFrame, origin: datetime, calendar: ForecastCalendar,
                    horizons: int) -> pd.DataFrame:
    return origin_feature_rows(spark, series, origin, calendar, horizons).toPandas()


def publish_online_features(config: LakehouseConfig, rows: DataFrame, local_rows: pd.DataFrame, origin: datetime,
                            keep_origins: int = KEEP_ORIGINS) -> None:
    """What the served model looks up (`online.py`): `gold.zone_forecast_features` (this origin replaced and
    origins `keep_origins` hours or more before it deleted, in one commit), and locally the SQLite store too."""
    epoch = int(origin.replace(tzinfo=UTC).timestamp())
    create_table_if_missing(rows.sparkSession, config, ZONE_FORECAST_FEATURES, feature_table_rows(rows).schema)
    # One `replaceWhere` whose predicate also names the expired origins: none of the new rows matches that part,
    # so they are removed and nothing is written for them (issue 21: was a replace and then a DELETE, two commits).
    replace_where(feature_table_rows(rows), config, ZONE_FORECAST_FEATURES,
                  f"origin_hour = {epoch} OR origin_hour <= {epoch - keep_origins * 3600}")
    if config.is_local:
        publish_features(local_rows, feature_store_path(config), keep_origins)


def forecast_frame(rows: pd.DataFrame, predicted: pd.DataFrame, made_at: datetime, model_name: str,
                   version: str) -> pd.DataFrame:
    """Feature rows + model output -> rows of `gold.zone_occupancy_forecast` (pure)."""
    out = pd.DataFrame({
        "zone_id": pd.to_numeric(rows.zone_id, errors="coerce").astype("Int64"),
        "forecast_made_at": made_at.replace(tzinfo=None),
        "target_hour": pd.to_datetime(rows.target_hour).to_numpy(),
        "horizon_hours": rows.horizon.astype("int32").to_numpy(),
        "predicted_occupancy_rate": predicted.predicted_rate.to_numpy(),
        "lower_occupancy_rate": predicted.lower_rate.to_numpy(),
        "upper_occupancy_rate": predicted.upper_rate.to_numpy(),
        "predicted_occupied": (predicted.predicted_rate.to_numpy() * rows.capacity.to_numpy()),
        "capacity": rows.capacity.astype("float64").to_numpy(),
        "model_name": model_name, "model_version": version,
        "scored_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
    })
    return out


def champion_calendar(params: dict[str, str], config: LakehouseConfig) -> ForecastCalendar:
    """The calendar a model was trained with (its run's params), else the deployment's."""
    timezone = params.get("timezone") or config.timezone
    country = params.get("holiday_country")
    return ForecastCalendar(timezone, None if country == "none" else country) if country \
        else ForecastCalendar.of(timezone, config.forecast.holiday_country)


def score_forecasts(spark: SparkSession, config: LakehouseConfig, series: DataFrame,
                    as_of: datetime | None = None) -> ScoreReport:
    registry = open_registry(config)
    champion = registry.require(CHAMPION, "train one (`parkpal forecast train`) and promote it "
                                          "(`parkpal forecast validate`) before scoring")
    last = series.where("occupancy_rate IS NOT NULL").agg(F.max("hour_start")).first()[0]
    if last is None:
        raise ParkPalError("the occupancy series has no readings to forecast from")
    origin = (as_of.astimezone(UTC).replace(tzinfo=None) if as_of and as_of.tzinfo else as_of) or last
    origin = origin.replace(minute=0, second=0, microsecond=0)
    if origin > last:
        raise ParkPalError(f"--as-of {origin:%Y-%m-%d %H:00} is after the newest observed hour {last:%Y-%m-%d %H:00}")
    horizons = config.forecast.horizon_hours
    calendar = champion_calendar(registry.client.get_run(champion.run_id).data.params, config)
    spark_rows = origin_feature_rows(spark, series, origin, calendar, horizons).localCheckpoint()
    rows = spark_rows.toPandas()
    if rows.empty:
        raise ParkPalError(f"no zone has the 8 days of history before {origin:%Y-%m-%d %H:00} UTC that scoring needs "
                           "(a recent deployment: extend gold with --history PATH)")
    model = load_occupancy_model(registry.model_uri(CHAMPION))
    rows = rows.reset_index(drop=True)
    predicted = model.predict_frame(rows[list(FEATURE_COLUMNS)])
    # a champion from before reporting hours forecasts every hour
    reporting = (predicted.in_reporting_hours.astype(bool).to_numpy() if "in_reporting_hours" in predicted
                 else np.ones(len(rows), dtype=bool))
    made_at = origin + timedelta(hours=1)
    version = str(champion.version)
    frame = forecast_frame(rows[reporting].reset_index(drop=True), predicted[reporting].reset_index(drop=True),
                           made_at, registry.model_name, version)
    prepare_forecast_tables(spark, config)
    df = (spark.createDataFrame(frame, schema=ZONE_OCCUPANCY_FORECAST_DDL.replace(", forecast_date DATE", ""))
          .withColumn("forecast_date", F.to_date(F.from_utc_timestamp("forecast_made_at", config.timezone))))
    # The origin's features (what the served model looks up) and its forecasts: two tables, written side by side
    # (one write's planning and commit overlap the other's; issue 21), each replacing this origin's rows only.
    side_by_side([
        lambda: publish_online_features(config, spark_rows, rows, origin),
        lambda: replace_where(df, config, ZONE_OCCUPANCY_FORECAST, f"forecast_made_at = '{made_at:%Y-%m-%d %H:%M:%S}'",
                              ("forecast_date",)),
    ])
    return ScoreReport(version, made_at, int(rows.zone_id.nunique()), len(frame), int((~reporting).sum()))
