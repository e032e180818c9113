"""Operating hours learned from the readings: hand-written histories, one rule each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from parkpal_lakehouse.forecasting.model import OccupancyModel
from parkpal_lakehouse.forecasting.reporting import describe_profile, mark_reporting, reporting_profile


def history(weeks: int, reads) -> pd.DataFrame:
    """Horizon-1 rows of zone "P" for `weeks` weeks; `reads(day_of_week, hour, week)` says if read."""
    rows = [("P", dow, hour, 0.5 if reads(dow, hour, week) else np.nan)
            for week in range(weeks) for dow in range(1, 8) for hour in range(24)]
    return pd.DataFrame(rows, columns=["zone_id", "day_of_week", "hour_of_day", "actual_rate"]).assign(horizon=1)


def reports(profile: pd.DataFrame, dow: int, hour: int) -> bool:
    row = profile[(profile.day_of_week == dow) & (profile.hour_of_day == hour)]
    return bool(row.reporting_share.iloc[0] >= 0.5)


def test_a_car_park_open_8_to_17_reports_those_hours_only():
    profile = reporting_profile(history(4, lambda d, h, w: 8 <= h < 17))
    assert reports(profile, 2, 8) and reports(profile, 2, 16)
    assert not reports(profile, 2, 7) and not reports(profile, 2, 17) and not reports(profile, 6, 3)
    assert "0 zones around the clock, 1 on 9.0 hours a day" in describe_profile(profile)
    assert "08:00-17:00 local" in describe_profile(profile)


def test_closed_on_sundays_stays_closed_on_sundays():
    profile = reporting_profile(history(4, lambda d, h, w: d != 7))
    assert reports(profile, 6, 12) and not reports(profile, 7, 12)


def test_two_outages_on_the_same_slot_do_not_close_it():
    # Tuesday 08:00 missed in 2 of 4 weeks (outages), read every other hour: still a reporting slot.
    profile = reporting_profile(history(4, lambda d, h, w: not (d == 2 and h == 8 and w < 2)))
    assert reports(profile, 2, 8)
    assert describe_profile(profile).startswith("reporting hours: all 1 zones report around the clock")


def test_unknown_zones_and_slots_are_forecast():
    model = OccupancyModel(reporting=reporting_profile(history(2, lambda d, h, w: 8 <= h < 17)))
    rows = pd.DataFrame({"zone_id": ["P", "P", "NEW"], "day_of_week": [3, 3, 3], "hour_of_day": [12, 22, 22]})
    assert model.in_reporting_hours(rows).tolist() == [True, False, True]


def test_origin_slots_wrap_across_midnight_and_the_week():
    profile = reporting_profile(history(4, lambda d, h, w: 8 <= h < 17))
    rows = pd.DataFrame({"zone_id": ["P"] * 3, "day_of_week": [1, 1, 3], "hour_of_day": [9, 9, 16],
                         "horizon": [1, 24, 10]})
    marked = mark_reporting(rows, profile)
    # Monday 09:00 from Monday 08:00 (open), from Sunday 09:00 (open, every day), Wednesday 16:00
    # from Wednesday 06:00 (closed).
    assert marked.target_reports.tolist() == [True, True, True]
    assert marked.origin_reports.tolist() == [True, True, False]
