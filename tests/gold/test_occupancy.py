"""Occupancy from stays, against hand-computed hours."""

from datetime import UTC, datetime

import chispa
import pytest

from parkpal_lakehouse.gold.occupancy import hourly_occupancy, session_stays


def t(hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 11, 2, hh, mm, ss, tzinfo=UTC)


def grid(spark, zone: int, hours: list[int]):
    return spark.createDataFrame([(zone, t(h)) for h in hours], "zone_id BIGINT, hour_start TIMESTAMP")


def test_stays_are_weighted_by_time_and_carried_across_hours(spark):
    stays = spark.createDataFrame([
        (1, t(7, 40), t(10, 15)),   # 20 min of 07, all of 08 and 09, 15 min of 10
        (1, t(8, 30), t(9, 0)),     # half of 08
        (1, t(5, 0), t(8, 0)),      # began before the grid: 07 entirely, gone exactly at 08:00
        (2, t(8, 0), t(8, 30)),     # another zone: must not leak into zone 1
    ], "zone_id BIGINT, start_at TIMESTAMP, end_at TIMESTAMP")
    got = hourly_occupancy(stays, grid(spark, 1, [7, 8, 9, 10, 11]))
    expected = spark.createDataFrame([
        (1, t(7), 1 + 20 / 60, 2), (1, t(8), 1.5, 2), (1, t(9), 1.0, 1), (1, t(10), 0.25, 1), (1, t(11), 0.0, 0),
    ], "zone_id BIGINT, hour_start TIMESTAMP, occupied_avg DOUBLE, occupied_peak BIGINT")
    chispa.assert_df_equality(got, expected, ignore_row_order=True, allow_nan_equality=True,
                              ignore_nullable=True)


def test_departures_count_before_arrivals_at_the_same_instant(spark):
    stays = spark.createDataFrame([(1, t(8, 0), t(8, 30)), (1, t(8, 30), t(9, 0))],
                                  "zone_id BIGINT, start_at TIMESTAMP, end_at TIMESTAMP")
    row = hourly_occupancy(stays, grid(spark, 1, [8])).first()
    assert row.occupied_avg == pytest.approx(1.0) and row.occupied_peak == 1  # one space, handed over


def test_session_stays_use_departure_then_close_and_cap_running_ones(spark):
    closed = spark.createDataFrame([
        (1, "parked", t(8), t(9), t(9, 5)), (1, "parked", t(8), None, t(8, 40)), (1, "abandoned", None, None, t(8)),
    ], "zone_id BIGINT, outcome STRING, parked_at TIMESTAMP, departed_at TIMESTAMP, closed_at TIMESTAMP")
    running = spark.createDataFrame([(1, "parked", t(10)), (1, "searching", None)],
                                    "zone_id BIGINT, phase STRING, parked_at TIMESTAMP")
    stays = sorted((r.start_at, r.end_at) for r in session_stays(closed, running, max_stay_hours=3).collect())
    assert stays == [(t(8).replace(tzinfo=None), t(8, 40).replace(tzinfo=None)),
                     (t(8).replace(tzinfo=None), t(9).replace(tzinfo=None)),
                     (t(10).replace(tzinfo=None), t(13).replace(tzinfo=None))]
