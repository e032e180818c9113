"""The simulated week: working days vs weekends and holidays, and a persistent day-to-day level."""

from __future__ import annotations

import statistics
from datetime import date

from parkpal_lakehouse.simulator.demand import DayKind, daily_demand, day_kind
from parkpal_lakehouse.simulator.history import occupancy_history
from parkpal_lakehouse.simulator.settings import SimulationSettings


def test_day_kinds_follow_the_philippine_calendar():
    assert day_kind(date(2026, 11, 3)) is DayKind.WORKING  # Tuesday
    assert day_kind(date(2026, 11, 7)) is DayKind.SATURDAY
    assert day_kind(date(2026, 11, 8)) is DayKind.SUNDAY_OR_HOLIDAY
    assert day_kind(date(2026, 12, 30)) is DayKind.SUNDAY_OR_HOLIDAY  # Rizal Day, a Wednesday


def test_the_level_is_seeded_by_date_not_by_where_a_run_starts():
    whole = daily_demand(date(2026, 10, 1), 40, seed=42)
    tail = daily_demand(date(2026, 10, 21), 20, seed=42)
    assert [d.level for d in whole[20:]] == [d.level for d in tail]
    levels = [d.level for d in daily_demand(date(2021, 1, 1), 1500, seed=1)]
    assert abs(statistics.mean(levels) - 1) < 0.05
    lag1 = statistics.correlation(levels[:-1], levels[1:])
    assert 0.6 < lag1 < 0.95  # weather persists for days


def test_street_parking_empties_and_garages_fill_on_rest_days():
    history = occupancy_history(SimulationSettings(seed=1, zones=12, users=2000), weeks=2)
    local = history.hour_start.dt.tz_convert("Asia/Manila")
    rest = local.dt.dayofweek >= 5
    midday = local.dt.hour.between(10, 16)
    by_type = history[midday].groupby([history.zone_type[midday], rest[midday]]).occupancy_rate.mean()
    assert by_type["STREET", True] < 0.8 * by_type["STREET", False]
    assert by_type["GARAGE", True] > by_type["GARAGE", False]
