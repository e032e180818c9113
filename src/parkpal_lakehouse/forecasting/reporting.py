"""When each series reports: its operating-hours profile, learned from the readings themselves.

A car park that reports only while open (say 07:30-16:30) has no readings at night: forecasting
those hours would score nothing and mislead whoever reads them. For each zone and local weekday x
hour slot the profile holds the share of that slot's hours (in the history before the cutoff) that
had a reading, shrunk towards the zone's share at that hour on every day by `PRIOR_WEEKS` pseudo
weeks: a few weeks of history hold only a few of each slot, and two outages on the same Tuesday
08:00 must not close the car park every Tuesday at 8, while a car park closed on Sundays has every
Sunday silent and stays closed. A slot *reports* when that share is at least half (most weeks).
Slots never seen (a new zone, a short history) count as reporting: we forecast rather than guess
silence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SLOT = ["zone_id", "day_of_week", "hour_of_day"]
MIN_REPORTING_SHARE = 0.5  # "in most weeks": a majority of the slot's hours had a reading
PRIOR_WEEKS = 2.0  # weight of the zone's habit at that hour, in weeks of the slot's own evidence


def reporting_profile(history: pd.DataFrame) -> pd.DataFrame:
    """Share of each zone x weekday x hour slot with a reading, from horizon-1 rows (gaps included),
    shrunk towards the zone's share at that hour of day."""
    once = history[history.horizon == 1].assign(read=lambda f: f.actual_rate.notna())
    slots = once.groupby(SLOT, as_index=False).agg(reads=("read", "sum"), hours=("read", "size"))
    habit = once.groupby(["zone_id", "hour_of_day"], as_index=False).read.mean().rename(columns={"read": "habit"})
    slots = slots.merge(habit, on=["zone_id", "hour_of_day"])
    share = (slots.reads + PRIOR_WEEKS * slots.habit) / (slots.hours + PRIOR_WEEKS)
    return slots[SLOT].assign(reporting_share=share.astype(float))


def slot_reports(profile: pd.DataFrame, zone_id: pd.Series, day_of_week: pd.Series, hour_of_day: pd.Series
                 ) -> np.ndarray:
    """Whether each (zone, weekday, hour) is a reporting slot (unknown slots: True). Zones are matched by
    their text: a CSV's ids are text, gold's numbers, the online store's text (`online.py`)."""
    keys = pd.DataFrame({"zone_id": zone_id.astype(str).to_numpy(), "day_of_week": day_of_week.astype(int).to_numpy(),
                         "hour_of_day": hour_of_day.astype(int).to_numpy()})
    profile = profile.assign(zone_id=profile.zone_id.astype(str), day_of_week=profile.day_of_week.astype(int),
                             hour_of_day=profile.hour_of_day.astype(int))
    share = keys.merge(profile, on=SLOT, how="left").reporting_share
    return share.isna().to_numpy() | (share.to_numpy() >= MIN_REPORTING_SHARE)


def origin_slot(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Local weekday and hour of each row's origin (target minus horizon hours)."""
    back = rows.hour_of_day.astype(int) - rows.horizon.astype(int)
    days = np.floor_divide(back, 24)
    return ((rows.day_of_week.astype(int) - 1 + days) % 7 + 1), back % 24


def mark_reporting(rows: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """`target_reports` / `origin_reports`: whether the target / origin hour is a reporting slot."""
    origin_day, origin_hour = origin_slot(rows)
    return rows.assign(
        target_reports=slot_reports(profile, rows.zone_id, rows.day_of_week, rows.hour_of_day),
        origin_reports=slot_reports(profile, rows.zone_id, origin_day, origin_hour))


def describe_profile(profile: pd.DataFrame) -> str:
    """One line: how many zones report around the clock, and the others' reporting hours."""
    reports = profile.assign(on=profile.reporting_share >= MIN_REPORTING_SHARE)
    per_zone = reports.groupby("zone_id").on.mean() * 24 * 7  # reporting hours per week
    full = int((per_zone >= 24 * 7).sum())
    partial = per_zone[per_zone < 24 * 7]
    if partial.empty:
        return f"reporting hours: all {full} zones report around the clock; every hour is forecast"
    hours = reports[reports.on].groupby("zone_id").hour_of_day.agg(["min", "max"])
    typical = hours.loc[partial.index].mode().iloc[0] if len(hours.loc[partial.index]) else None
    span = "" if typical is None else \
        f", typically {int(typical['min']):02d}:00-{int(typical['max']) + 1:02d}:00 local"
    return (f"reporting hours: {full} zones around the clock, {len(partial)} on {partial.mean() / 7:.1f} hours a "
            f"day on average{span}; forecasts are made (and scored) for reporting hours only")
