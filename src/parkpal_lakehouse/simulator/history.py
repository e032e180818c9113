"""Weeks of hourly occupancy before the simulated days, for the same city: the history a forecaster
trains on, which streaming a few days of events cannot give.

`occupancy_history` is the truth, measured the way gold measures it (gated zones every car from the
gates, street zones the app users' cars). `operator_export` turns it into what a real export looks
like: hours missing, readings repeated, counts above capacity and below zero, so that cleaning has
something real to do; the truth stays beside it to check the cleaning against.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pandas as pd

from parkpal_lakehouse.simulator.city import make_city
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import zone_occupancy_hourly
from parkpal_lakehouse.simulator.world import Window, simulate_visits

HISTORY_CSV = "zone_occupancy_hourly.csv"
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
    street = truth.zone_type == "STREET"
    occupied = truth.occupied_avg.where(~street, truth.app_occupied_avg)
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


def write_history(settings: SimulationSettings, weeks: int, root: Path) -> tuple[Path, pd.DataFrame]:
    """Write the export to `<root>/history/` and the truth to `<root>/truth/`; returns the CSV path."""
    history = occupancy_history(settings, weeks)
    export = operator_export(history, settings.seed)
    (root / "history").mkdir(parents=True, exist_ok=True)
    (root / "truth").mkdir(parents=True, exist_ok=True)
    path = root / "history" / HISTORY_CSV
    export.to_csv(path, index=False)
    history.to_parquet(root / "truth" / HISTORY_TRUTH, index=False)
    return path, history
