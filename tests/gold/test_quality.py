"""Gold's quality suite fails a range with a NaN or Infinity in it (the validator reads NaN as missing)."""

from datetime import datetime

import pytest

from parkpal_lakehouse.gold.quality import ZONE_METRICS_SUITE, with_check_columns
from parkpal_lakehouse.quality.runner import check_quality

DDL = ("zone_id BIGINT, hour_start TIMESTAMP, capacity INT, occupancy_rate DOUBLE, peak_occupancy_rate DOUBLE, "
       "circling_seconds_min DOUBLE, data_completeness DOUBLE, revenue DOUBLE")


@pytest.mark.parametrize("revenue, failed", [(120.0, []), (float("nan"), ["gold_numbers_finite"]),
                                             (float("inf"), ["gold_numbers_finite"]),
                                             (float("-inf"), ["gold_numbers_finite"]), (None, [])])
def test_non_finite_numbers_fail_the_range(spark, revenue, failed):
    metrics = spark.createDataFrame([(1, datetime(2026, 11, 2, 8), 20, 0.5, 0.6, 30.0, 1.0, 10.0),
                                     (2, datetime(2026, 11, 2, 8), 20, 0.5, 0.6, 30.0, 1.0, revenue)], DDL)
    outcome = check_quality(with_check_columns(metrics), "gold.zone_metrics_hourly", ZONE_METRICS_SUITE)
    assert outcome.failed == failed


@pytest.mark.parametrize("low, rate, high, failed", [(0.25, 0.5, 0.75, []), (0.5, 0.5, 0.5, []),
                                                     (None, 0.5, None, []),
                                                     (0.6, 0.5, 0.75, ["gold_occupancy_inside_its_interval"]),
                                                     (0.25, 0.8, 0.75, ["gold_occupancy_inside_its_interval"])])
def test_an_estimate_outside_its_interval_fails_the_range(spark, low, rate, high, failed):
    metrics = spark.createDataFrame(
        [(1, datetime(2026, 11, 2, 8), 20, rate, 0.9, 30.0, 1.0, 10.0, low, high)],
        DDL + ", occupancy_rate_low DOUBLE, occupancy_rate_high DOUBLE")
    outcome = check_quality(with_check_columns(metrics), "gold.zone_metrics_hourly", ZONE_METRICS_SUITE)
    assert outcome.failed == failed
