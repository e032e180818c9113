"""The gold quality checks the hourly job runs after writing."""

import shutil
from datetime import datetime

from chispa import assert_df_equality

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.gold.audit import audit_gold, forecast_intervals, gold_lag, zone_hour_rows, zones_known
from parkpal_lakehouse.io.delta import overwrite_table, read_table


def test_zone_hour_rows_counts_each_key(spark):
    metrics = spark.createDataFrame([(1, datetime(2026, 11, 4, 1)), (1, datetime(2026, 11, 4, 1)),
                                     (2, datetime(2026, 11, 4, 1))], "zone_id BIGINT, hour_start TIMESTAMP")
    expected = spark.createDataFrame([(1, datetime(2026, 11, 4, 1), 2), (2, datetime(2026, 11, 4, 1), 1)],
                                     "zone_id BIGINT, hour_start TIMESTAMP, rows BIGINT")
    assert_df_equality(zone_hour_rows(metrics), expected, ignore_row_order=True, ignore_nullable=True)


def test_zones_known_flags_zones_missing_from_dim_zone(spark):
    metrics = spark.createDataFrame([(1,), (1,), (7,)], "zone_id BIGINT")
    dim_zone = spark.createDataFrame([(1,), (1,), (2,)], "zone_id BIGINT")  # two versions of zone 1
    expected = spark.createDataFrame([(1, True), (7, False)], "zone_id BIGINT, zone_known BOOLEAN")
    assert_df_equality(zones_known(metrics, dim_zone), expected, ignore_row_order=True, ignore_nullable=True)


def test_forecast_intervals_flags_a_prediction_outside_its_interval_or_missing_bounds(spark):
    forecasts = spark.createDataFrame([(0.5, 0.4, 0.6), (0.7, 0.4, 0.6), (0.5, None, 0.6)],
                                      "predicted_occupancy_rate DOUBLE, lower_occupancy_rate DOUBLE, "
                                      "upper_occupancy_rate DOUBLE")
    assert [r.inside_interval for r in forecast_intervals(forecasts).collect()] == [True, False, False]


def test_gold_lag_is_hours_from_gold_newest_hour_end_to_silver_closed_hours():
    assert gold_lag(datetime(2026, 11, 4, 9), datetime(2026, 11, 4, 10)) == 0
    assert gold_lag(datetime(2026, 11, 4, 5), datetime(2026, 11, 4, 10)) == 4
    assert gold_lag(None, datetime(2026, 11, 4, 10)) == float("inf")
    assert gold_lag(None, None) == 0


def test_audit_passes_on_the_city_and_fails_on_a_duplicated_zone_hour(spark, gold_city, tmp_path):
    config, _ = gold_city
    root = tmp_path / "lake"
    shutil.copytree(config.storage_root, root)
    copy = local_config(root)
    report = audit_gold(spark, copy)
    assert report.failed == [] and report.lag_hours == 0
    assert report.checked == ["gold_one_row_per_zone_hour", "gold_zones_in_dim_zone", "gold_at_most_3h_behind_silver"]
    metrics = read_table(spark, copy, "gold.zone_metrics_hourly")
    newest = metrics.orderBy("hour_start", ascending=False).limit(1)
    overwrite_table(metrics.unionByName(newest).localCheckpoint(), copy, "gold.zone_metrics_hourly")
    failed = audit_gold(spark, copy)
    assert failed.failed == ["gold_one_row_per_zone_hour"]
    assert "FAILED: gold_one_row_per_zone_hour" in failed.lines()[0]
    recorded = spark.read.format("delta").load(str(root / "tables" / "ops" / "quality_results")).where(
        "suite = 'gold_audit' AND NOT success").collect()
    assert [(r.expectation, r.unexpected_count) for r in recorded] == [("gold_one_row_per_zone_hour", 1)]
