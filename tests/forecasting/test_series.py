"""Cleaning any hourly occupancy table: each defect is fixed the documented way and counted."""

from __future__ import annotations

from datetime import datetime

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.series import clean_occupancy, extend_backwards, resolve_columns

RAW = "SystemCodeNumber STRING, Capacity STRING, Occupancy STRING, LastUpdated STRING"
SERIES = "zone_id STRING, hour_start TIMESTAMP, zone_type STRING, capacity DOUBLE, occupancy_rate DOUBLE"


def test_every_defect_is_cleaned_and_counted(spark):
    raw = spark.createDataFrame([
        ("A", "100", "40", "2026-10-05 08:10:00"),  # two readings in one hour: averaged
        ("A", "100", "60", "2026-10-05 08:40:00"),
        ("A", "100", "60", "2026-10-05 08:40:00"),  # exact duplicate: dropped
        ("A", "100", "130", "2026-10-05 09:05:00"),  # above capacity: clipped to full
        ("A", "100", "-3", "2026-10-05 10:05:00"),  # negative count: dropped (the hour becomes a gap)
        ("A", "100", "20", "2026-10-05 12:00:00"),  # 11:00 missing: a gap
        ("A", "100", "lots", "2026-10-05 13:00:00"),  # unreadable
        ("", "100", "5", "2026-10-05 13:00:00"),  # unreadable: no zone
    ], RAW)
    series, report = clean_occupancy(raw, "Europe/London")
    # Naive times are local to the given timezone: 08:00 BST is 07:00 UTC.
    expected = spark.createDataFrame([
        ("A", datetime(2026, 10, 5, h), "UNKNOWN", 100.0, rate)
        for h, rate in ((7, 0.5), (8, 1.0), (9, None), (10, None), (11, 0.2))
    ], SERIES)
    assert_df_equality(series, expected, ignore_row_order=True, ignore_nullable=True)
    assert (report.rows_read, report.unreadable, report.negative, report.exact_duplicates) == (8, 2, 1, 1)
    assert (report.readings_averaged, report.above_capacity, report.gap_hours, report.zone_hours) == (2, 1, 2, 5)
    assert (report.zones, report.first_hour, report.last_hour) == (1, "2026-10-05 07:00", "2026-10-05 11:00")
    assert report.column_map == {"zone_id": "SystemCodeNumber", "time": "LastUpdated", "occupied": "Occupancy",
                                 "capacity": "Capacity"}


def test_times_with_an_offset_keep_it_and_a_rate_needs_no_capacity(spark):
    raw = spark.createDataFrame([("7", "2026-10-05T08:00:00+08:00", "0.25"), ("7", "2026-10-05T01:00:00Z", "0.75")],
                                "zone STRING, hour STRING, occupancy_rate STRING")
    series, _ = clean_occupancy(raw, "Asia/Manila")
    rows = {r.hour_start: r.occupancy_rate for r in series.collect()}
    assert rows == {datetime(2026, 10, 5, 0): 0.25, datetime(2026, 10, 5, 1): 0.75}


@pytest.mark.parametrize(("columns", "message"), [
    (["zone", "when", "occupied", "capacity"], "needs a time column"),
    (["zone_id", "hour", "capacity"], "needs a occupied (or rate) column"),
    (["zone_id", "hour", "occupied"], "no capacity (or rate) column"),
])
def test_unusable_columns_say_what_is_missing(columns, message):
    with pytest.raises(ParkPalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve_columns(columns)


def test_a_named_column_must_exist():
    with pytest.raises(ParkPalError, match="column 'spaces_used' .* is not in the input"):
        resolve_columns(["zone_id", "hour", "capacity"], {"occupied": "spaces_used"})


def test_cleaning_recovers_the_simulated_truth(history_series, history):
    """The export's defects (gaps, duplicates, over-capacity, negatives) cleaned: every other hour equals truth."""
    cleaned = history_series.toPandas().assign(zone_id=lambda f: f.zone_id.astype(int))
    truth = history.truth.assign(hour_start=history.truth.hour_start.dt.tz_localize(None))
    both = truth.merge(cleaned, on=["zone_id", "hour_start"], suffixes=("_true", ""))
    assert len(both) == len(cleaned) > 0.95 * len(truth)
    known = both[both.occupancy_rate.notna()]
    exact = (known.occupancy_rate - known.occupancy_rate_true.clip(upper=1.0)).abs() < 1e-3
    clipped = known.occupancy_rate == 1.0
    assert (exact | clipped).all()
    assert exact.mean() > 0.99
    assert (both.zone_type == both.zone_type_true).all()


def test_gold_is_extended_backwards_by_history_only_before_its_first_hour(spark):
    gold = spark.createDataFrame([("1", datetime(2026, 11, 2, 2), "LOT", 80.0, 0.5),
                                  ("1", datetime(2026, 11, 2, 3), "LOT", 80.0, 0.6)], SERIES)
    history = spark.createDataFrame([("1", datetime(2026, 11, 2, h), "UNKNOWN", 70.0, 0.1) for h in range(0, 4)],
                                    SERIES)
    combined = extend_backwards(gold, history).orderBy("hour_start")
    rows = [(r.hour_start.hour, r.occupancy_rate, r.zone_type, r.capacity) for r in combined.collect()]
    assert rows == [(0, 0.1, "LOT", 80.0), (1, 0.1, "LOT", 80.0), (2, 0.5, "LOT", 80.0), (3, 0.6, "LOT", 80.0)]
    assert combined.where(F.col("occupancy_rate").isNull()).count() == 0
