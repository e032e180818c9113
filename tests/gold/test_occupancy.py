"""Occupancy from stays, against hand-computed hours."""

import math
from datetime import UTC, date, datetime

import chispa
import pytest

from parkpal_lakehouse.gold.occupancy import (
    app_penetration,
    daily_entry_counts,
    hourly_occupancy,
    session_stays,
    street_surveys,
    window_cells,
)


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


def test_app_penetration_per_hour_of_week_is_shrunk_towards_the_citys_share(spark):
    """Hand-computed: Manila time (UTC+8), a 2-day window ending Tuesday 2026-11-03, prior weight 4 entries.
    Makati: Tue 08:xx three entries (A, C app; B not; C's entry redelivered: counted once), Mon 09:xx one
    (D, not), Sun outside the window. City share 2/4; the Tue 08 cell (hour of week 32) (2 + 4 x 0.5) /
    (3 + 4) = 4/7; Mon 09 (hour 9) (0 + 2) / (1 + 4) = 0.4; an hour without entries the city's 0.5.
    Pasay: one app entry, share 1."""
    entries = spark.createDataFrame([
        ("e1", 1, datetime(2026, 11, 3, 0, 30, tzinfo=UTC), "A"),
        ("e2", 1, datetime(2026, 11, 3, 0, 40, tzinfo=UTC), "B"),
        ("e3", 1, datetime(2026, 11, 3, 0, 50, tzinfo=UTC), "C"),
        ("e3", 1, datetime(2026, 11, 3, 0, 50, tzinfo=UTC), "C"),  # the gate sent it again
        ("e4", 1, datetime(2026, 11, 2, 1, 10, tzinfo=UTC), "D"),
        ("e5", 1, datetime(2026, 11, 1, 1, 0, tzinfo=UTC), "A"),  # Sunday: outside the 2-day window
        ("e6", 2, datetime(2026, 11, 3, 2, 0, tzinfo=UTC), "A"),
    ], "event_id STRING, zone_id BIGINT, entry_at TIMESTAMP, license_plate STRING")
    registered = spark.createDataFrame([("A",), ("C",), ("C",)], "license_plate STRING")
    zone_city = spark.createDataFrame([(1, "Makati"), (2, "Pasay")], "zone_id BIGINT, city STRING")
    days = spark.createDataFrame([(date(2026, 11, 3),)], "calib_date DATE")
    cells = window_cells(daily_entry_counts(entries, registered, "Asia/Manila"), zone_city, days, window_days=2)
    got = {(r.city, r.hour_of_week): r for r in app_penetration(cells, prior_entries=4).collect()}
    assert len(got) == 2 * 168 and {r.calib_date for r in got.values()} == {date(2026, 11, 3)}

    def sd(p_gate: float, n: int, p_city: float) -> float:  # no street counts: ratio 1, q = p_city
        return math.sqrt(p_gate * (1 - p_gate) / (n + 4 + 1) + (p_gate * math.sqrt(p_city * (1 - p_city) / 5)
                                                                / p_city) ** 2)

    for key, (p, n) in {("Makati", 32): (4 / 7, 3), ("Makati", 9): (0.4, 1), ("Makati", 0): (0.5, 0),
                        ("Pasay", 34): (1.0, 1), ("Pasay", 32): (1.0, 0)}.items():
        row = got[key]
        assert (row.app_penetration, row.penetration_entries) == (pytest.approx(p), n), key
        assert row.penetration_sd == pytest.approx(sd(p, n, 0.5 if key[0] == "Makati" else 1.0)), key


def test_window_cells_sum_each_days_own_window(spark):
    """Hand-computed: Manila time (UTC+8), 2-day windows for Monday and Tuesday 2026-11-02/03. Makati
    entries on Sun 08:xx (app), Mon 08:xx (app and not) and Tue 08:xx (not): Monday's window holds
    Sun and Mon (hours of week 152 and 8), Tuesday's Mon and Tue (8 and 32). A zone without a city
    (not current) counts nowhere."""
    entries = spark.createDataFrame([
        ("s", 1, datetime(2026, 11, 1, 0, 15, tzinfo=UTC), "A"),
        ("m1", 1, datetime(2026, 11, 2, 0, 15, tzinfo=UTC), "A"),
        ("m2", 1, datetime(2026, 11, 2, 0, 45, tzinfo=UTC), "B"),
        ("t", 1, datetime(2026, 11, 3, 0, 15, tzinfo=UTC), "B"),
        ("x", 9, datetime(2026, 11, 3, 0, 15, tzinfo=UTC), "A"),
    ], "event_id STRING, zone_id BIGINT, entry_at TIMESTAMP, license_plate STRING")
    registered = spark.createDataFrame([("A",)], "license_plate STRING")
    zone_city = spark.createDataFrame([(1, "Makati")], "zone_id BIGINT, city STRING")
    days = spark.createDataFrame([(date(2026, 11, 2),), (date(2026, 11, 3),)], "calib_date DATE")
    got = window_cells(daily_entry_counts(entries, registered, "Asia/Manila"), zone_city, days, window_days=2)
    expected = spark.createDataFrame([
        (date(2026, 11, 2), "Makati", 152, 1, 1), (date(2026, 11, 2), "Makati", 8, 2, 1),
        (date(2026, 11, 3), "Makati", 8, 2, 1), (date(2026, 11, 3), "Makati", 32, 1, 0),
    ], "calib_date DATE, city STRING, hour_of_week INT, n BIGINT, k BIGINT")
    chispa.assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_street_surveys_count_the_app_stays_covering_each_count(spark):
    """Hand-computed: Manila time, the 2-day window of Tuesday 2026-11-03. Makati (zone 1): Tue 10:00 local,
    10 vehicles counted (sent twice: one count), stays covering it: one through it, one beginning at that
    instant; one ending at it and one in zone 2 do not; Mon 10:00, 5 vehicles, no stay; Sun outside the
    window. Pasay (zone 2): Tue 10:00, 4 vehicles, its one stay covering it."""
    def utc(day: int, hh: int, mm: int = 0) -> datetime:
        return datetime(2026, 11, day, hh, mm, tzinfo=UTC)

    counts = spark.createDataFrame([(1, utc(3, 2), 10), (1, utc(3, 2), 10), (1, utc(2, 2), 5), (1, utc(1, 2), 7),
                                    (2, utc(3, 2), 4)], "zone_id BIGINT, counted_at TIMESTAMP, vehicles BIGINT")
    stays = spark.createDataFrame([(1, utc(3, 1), utc(3, 3)), (1, utc(3, 2), utc(3, 2, 30)), (1, utc(3, 0), utc(3, 2)),
                                   (2, utc(3, 1, 30), utc(3, 2, 30))],
                                  "zone_id BIGINT, start_at TIMESTAMP, end_at TIMESTAMP")
    zone_city = spark.createDataFrame([(1, "Makati"), (2, "Pasay")], "zone_id BIGINT, city STRING")
    days = spark.createDataFrame([(date(2026, 11, 3),)], "calib_date DATE")
    got = street_surveys(counts, stays, zone_city, days, "Asia/Manila", window_days=2)
    expected = spark.createDataFrame([(date(2026, 11, 3), "Makati", 15.0, 2.0), (date(2026, 11, 3), "Pasay", 4.0, 1.0)],
                                     "calib_date DATE, city STRING, surveyed_vehicles DOUBLE, surveyed_app DOUBLE")
    chispa.assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_street_surveys_move_the_penetration_to_the_streets_level(spark):
    """Hand-computed, prior weight 4: Makati's car parks 2 app entries of 4 at hour of week 32 (city share
    0.5; the cell (2 + 2) / (4 + 4) = 0.5); its streets counted 15 vehicles with 2 app users: q = (2 + 4 x
    0.5) / (15 + 4) = 4/19, so every hour's penetration is 0.5 x (4/19) / 0.5 = 4/19. A city without
    surveys keeps its car parks' share."""
    day = date(2026, 11, 3)
    cells = spark.createDataFrame([(day, "Makati", 32, 4, 2), (day, "Pasay", 32, 2, 1)],
                                  "calib_date DATE, city STRING, hour_of_week INT, n BIGINT, k BIGINT")
    surveys = spark.createDataFrame([(day, "Makati", 15.0, 2.0)],
                                    "calib_date DATE, city STRING, surveyed_vehicles DOUBLE, surveyed_app DOUBLE")
    got = {(r.city, r.hour_of_week): r for r in app_penetration(cells, prior_entries=4, surveys=surveys).collect()}
    q = 4 / 19
    sd = math.sqrt(((q / 0.5) * math.sqrt(0.25 / 9)) ** 2 + (0.5 * math.sqrt(q * (1 - q) / 20) / 0.5) ** 2)
    for hour, n in ((32, 4), (0, 0)):
        row = got[("Makati", hour)]
        assert (row.app_penetration, row.penetration_entries) == (pytest.approx(q), n)
    assert got[("Makati", 32)].penetration_sd == pytest.approx(sd)
    assert got[("Pasay", 32)].app_penetration == pytest.approx(0.5)
