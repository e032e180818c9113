"""Weeks of hourly occupancy before the simulated days, for the same city: the history a forecaster
trains on, which streaming a few days of events cannot give.

`occupancy_history` is the truth of what gold reports: every parked vehicle (at gated zones the
gates count them; at street zones gold's all-driver estimate aims at them, so a forecaster trained on
this history and scored against gold sees one quantity across the seam). `operator_export` turns
it into what a real export looks like: hours missing, readings repeated, counts above capacity and
below zero, so that cleaning has something real to do; the truth stays beside it to check the
cleaning against.

`car_park_export` is the other shape public car-park data takes: only the car parks (gated zones),
half-hourly counts read while they are open (07:30-16:30 local, a few minutes late or early), no
readings at night, whole days missing (one car park's feed, or every feed on an outage day),
repeated readings and counts above capacity or below zero, in local time without an offset under
the column names such feeds use (`SystemCodeNumber, Capacity, Occupancy, LastUpdated`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from parkpal_lakehouse.simulator.city import make_city
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import zone_occupancy_hourly
from parkpal_lakehouse.simulator.world import Window, simulate_visits

HISTORY_CSV = "zone_occupancy_hourly.csv"
CAR_PARK_CSV = "car_park_readings.csv"
HISTORY_PROFILES = ("hourly", "car-parks")
HISTORY_TRUTH = "occupancy_history.parquet"


def occupancy_history(settings: SimulationSettings, weeks: int) -> pd.DataFrame:
    """True hourly occupancy per zone for the `weeks` before `settings.start_date` (same zones).

    Columns: zone_id, zone_type, capacity, hour_start (UTC), occupied, occupancy_rate.
    """
    if weeks < 1:
        raise ValueError("history needs at least one week")
    earlier = replace(settings, start_date=settings.start_date - timedelta(weeks=weeks), days=7 * weeks)
    city = make_city(settings.zones, settings.users, random.Random(f"{settings.seed}-world"))
    visits = simulate_visits(city, earlier, random.Random(f"{settings.seed}-history"))
    truth = zone_occupancy_hourly(visits, city.zones, Window.of(earlier))
    occupied = truth.occupied_avg
    return pd.DataFrame({
        "zone_id": truth.zone_id, "zone_type": truth.zone_type, "capacity": truth.capacity,
        "hour_start": truth.hour_start, "occupied": occupied, "occupancy_rate": occupied / truth.capacity,
    })


def operator_export(history: pd.DataFrame, seed: int, gap_rate: float = 0.01, duplicate_rate: float = 0.01,
                    over_capacity_rate: float = 0.003, negative_rate: float = 0.002) -> pd.DataFrame:
    """The history as an operator's export: `zone_id, zone_type, hour, occupied, capacity`, with defects.

    Gaps come in runs of 1-6 hours; a duplicate repeats a reading; an over-capacity reading is
    10-50% above capacity; a negative reading is a counter that went below zero.
    """
    rng = random.Random(f"{seed}-export")
    rows = history[["zone_id", "zone_type", "hour_start", "occupied", "capacity"]].copy()
    rows["occupied"] = rows.occupied.round(3)
    keep = [True] * len(rows)
    i = 0
    while i < len(rows):
        if rng.random() < gap_rate / 3.5:
            for j in range(i, min(len(rows), i + rng.randint(1, 6))):
                keep[j] = False
            i += 6
        i += 1
    rows = rows[keep].reset_index(drop=True)
    occupied = rows.occupied.to_numpy(copy=True)
    for k in range(len(rows)):
        r = rng.random()
        if r < over_capacity_rate:
            occupied[k] = round(rows.capacity.iat[k] * rng.uniform(1.1, 1.5), 3)
        elif r < over_capacity_rate + negative_rate:
            occupied[k] = -float(rng.randint(1, 20))
    rows["occupied"] = occupied
    dupes = rows.sample(frac=duplicate_rate, random_state=rng.randrange(2**31))
    rows = pd.concat([rows, dupes]).sort_values(["hour_start", "zone_id"], kind="stable")
    rows["hour"] = rows.hour_start.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return rows[["zone_id", "zone_type", "hour", "occupied", "capacity"]].reset_index(drop=True)


def _reading_rates(zone: pd.DataFrame, at: pd.Series) -> np.ndarray:
    """A zone's occupied count at instants `at` (UTC): hourly means placed at mid-hour, linearly between."""
    mid = (zone.hour_start + pd.Timedelta(minutes=30)).astype("int64").to_numpy()
    return np.interp(at.astype("int64").to_numpy(), mid, zone.occupied.to_numpy())


def car_park_export(history: pd.DataFrame, seed: int, timezone: str = "Asia/Manila", opens: str = "07:30",
                    closes: str = "16:30", missing_day_rate: float = 0.04, outage_day_rate: float = 0.02,
                    duplicate_rate: float = 0.02, over_capacity_rate: float = 0.005, negative_rate: float = 0.003,
                    late_minutes: int = 4) -> pd.DataFrame:
    """The gated zones' history as half-hourly readings during opening hours, with the defects above."""
    rng = np.random.default_rng([seed, 7730])  # its own stream: the export does not move with other draws
    parks = history[history.zone_type != "STREET"].sort_values(["zone_id", "hour_start"])
    local_days = pd.date_range(parks.hour_start.min().tz_convert(timezone).normalize(),
                               parks.hour_start.max().tz_convert(timezone).normalize(), freq="D")
    slots = pd.timedelta_range(opens + ":00", closes + ":00", freq="30min")
    outage = {d for d in local_days if rng.random() < outage_day_rate}
    frames = []
    for zone_id, zone in parks.groupby("zone_id"):
        days = [d for d in local_days if d not in outage and rng.random() >= missing_day_rate]
        at = pd.DatetimeIndex([d + s for d in days for s in slots])
        at = at + pd.to_timedelta(rng.integers(-late_minutes * 60, late_minutes * 60 + 1, len(at)), unit="s")
        utc = at.tz_convert("UTC")
        inside = (utc >= zone.hour_start.min()) & (utc < zone.hour_start.max() + pd.Timedelta(hours=1))
        at, utc = at[inside], utc[inside]
        occupied = np.rint(_reading_rates(zone, pd.Series(utc))).astype(int)
        capacity = int(zone.capacity.iloc[0])
        wild = rng.random(len(occupied))
        occupied = np.where(wild < over_capacity_rate, np.rint(capacity * rng.uniform(1.1, 1.5, len(occupied))),
                            occupied)
        occupied = np.where((wild >= over_capacity_rate) & (wild < over_capacity_rate + negative_rate),
                            -rng.integers(1, 20, len(occupied)), occupied).astype(int)
        frames.append(pd.DataFrame({"SystemCodeNumber": f"PARK{int(zone_id):03d}", "Capacity": capacity,
                                    "Occupancy": occupied, "LastUpdated": at.strftime("%Y-%m-%d %H:%M:%S")}))
    readings = pd.concat(frames, ignore_index=True)
    repeats = readings.sample(frac=duplicate_rate, random_state=int(rng.integers(2**31)))
    return pd.concat([readings, repeats]).sort_values(["LastUpdated", "SystemCodeNumber"], kind="stable"
                                                      ).reset_index(drop=True)


def write_history(settings: SimulationSettings, weeks: int, root: Path, profile: str = "hourly"
                  ) -> tuple[Path, pd.DataFrame]:
    """Write the export (`hourly`: every zone, hourly; `car-parks`: `car_park_export`) to
    `<root>/history/` and the truth to `<root>/truth/`; returns the CSV path."""
    if profile not in HISTORY_PROFILES:
        raise ValueError(f"history profile must be one of {', '.join(HISTORY_PROFILES)}, not {profile!r}")
    history = occupancy_history(settings, weeks)
    if profile == "hourly":
        export, name = operator_export(history, settings.seed), HISTORY_CSV
    else:
        export, name = car_park_export(history, settings.seed), CAR_PARK_CSV
    (root / "history").mkdir(parents=True, exist_ok=True)
    (root / "truth").mkdir(parents=True, exist_ok=True)
    path = root / "history" / name
    export.to_csv(path, index=False)
    history.to_parquet(root / "truth" / HISTORY_TRUTH, index=False)
    return path, history
