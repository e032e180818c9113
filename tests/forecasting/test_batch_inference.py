"""Publishing the features the served model looks up: `gold.zone_forecast_features` and the local store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import functions as F

from parkpal_lakehouse.forecasting.batch_inference import publish_online_features
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS
from parkpal_lakehouse.forecasting.online import SqliteFeatures, feature_store_path
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.names import ZONE_FORECAST_FEATURES

START = datetime(2026, 11, 2, 0, tzinfo=UTC)  # aware: the same instant whatever the machine's zone


def _origin_rows(spark, origin: datetime, value: float):
    """Two zones' feature rows of one origin, 3 hours ahead, every other feature `value`."""
    hours = [(zone, origin, origin + timedelta(hours=h), h) for zone in (7, 9) for h in range(1, 4)]
    rows = spark.createDataFrame(hours, "zone_id INT, origin_hour TIMESTAMP, target_hour TIMESTAMP, horizon INT")
    return rows.select("*", *(F.lit(value).alias(c) for c in FEATURE_COLUMNS if c not in ("zone_id", "horizon")))


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def test_an_origin_is_replaced_and_expired_origins_go_in_the_same_commit(spark, lakehouse):
    """Scoring origin t replaces t's rows and deletes those of origins `keep_origins` hours or more before t,
    as one Delta commit per publication (a reader never sees one without the other); the local store agrees."""
    keep = 2
    origins = [START + timedelta(hours=h) for h in range(3)]
    for i, origin in enumerate(origins):
        rows = _origin_rows(spark, origin, float(i))
        publish_online_features(lakehouse, rows, rows.toPandas(), origin, keep_origins=keep)
    # the newest origin published again with other values: replaced, not added beside
    again = _origin_rows(spark, origins[-1], 99.0)
    publish_online_features(lakehouse, again, again.toPandas(), origins[-1], keep_origins=keep)

    table = read_table(spark, lakehouse, ZONE_FORECAST_FEATURES)
    kept = sorted((r.origin_hour, r.n, r.value) for r in table.groupBy("origin_hour").agg(
        F.count(F.lit(1)).alias("n"), F.max("origin_rate").alias("value")).collect())
    expected = [(_epoch(o), 6, float(i)) for i, o in enumerate(origins) if i > len(origins) - 1 - keep]
    expected[-1] = (_epoch(origins[-1]), 6, 99.0)
    assert kept == expected
    history = delta_table(spark, lakehouse, ZONE_FORECAST_FEATURES).history().orderBy("version").collect()
    assert [h.operation for h in history] == ["CREATE TABLE"] + ["WRITE"] * (len(origins) + 1)
    local = SqliteFeatures(feature_store_path(lakehouse))
    assert local.fetch(9, 3, None)["origin_rate"] == 99.0
    assert local.fetch(9, 3, _epoch(origins[len(origins) - keep])) is not None
    assert local.fetch(9, 3, _epoch(origins[len(origins) - keep]) - 1) is None  # expired there too
