"""Ground truth: what really happened, to check the pipeline against.

- `searches`: one row per app user's zone entry: true entry, circling start, parked time, departure,
  circling seconds and outcome (parked / abandoned / timed_out / no_search) and how parking shows.
- `zone_occupancy_hourly`: per zone and hour, the time-weighted average and peak of occupied spaces
  (all vehicles, and app users only), and the rates over capacity.
- `stays`: one row per vehicle parked (app or not): zone, parked and departure times, so the vehicles
  parked at any instant can be counted (`parked_at_instant`), as the real-time zone status is checked.
Written as Parquet under `<root>/truth/`, with `manifest.json` holding the wire statistics.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from parkpal_lakehouse.contracts.reference import StreetCount, Zone
from parkpal_lakehouse.simulator.world import Visit, Window


@dataclass(frozen=True)
class TrueSearch:
    search_id: int
    user_id: int
    app_session_id: int
    zone_id: int
    zone_type: str
    zone_entry_at: float
    circling_start: float | None
    parked_at: float | None
    confirmed_at: float | None
    departed_at: float | None
    circling_seconds: float | None
    parked_seconds: float | None
    outcome: str
    confirmation: str | None  # activity | gate


def true_search(visit: Visit, zone: Zone, app_session_id: int, confirmed_at: float | None,
                window: Window) -> TrueSearch:
    parked = visit.outcome == "parked"
    departed = visit.departs_at if parked and visit.departs_at and visit.departs_at < window.end else None
    return TrueSearch(
        search_id=visit.visit_id,
        user_id=visit.user_id or 0,
        app_session_id=app_session_id,
        zone_id=zone.zoneId,
        zone_type=zone.zoneType,
        zone_entry_at=visit.arrived_at,
        circling_start=None if visit.outcome == "no_search" else visit.arrived_at,
        parked_at=visit.parked_at if parked else None,
        confirmed_at=confirmed_at if parked else None,
        departed_at=departed,
        circling_seconds=visit.circling_seconds if visit.outcome in ("parked", "abandoned") else None,
        parked_seconds=(departed - visit.parked_at) if departed and visit.parked_at else None,
        outcome=visit.outcome,
        confirmation=("gate" if zone.gated else "activity") if parked else None,
    )


def parked_visits(visits: list[Visit]) -> list[Visit]:
    """The visits whose vehicle took a space (parked, or parked and then overstayed the search window)."""
    return [v for v in visits if v.parked_at is not None and v.outcome in ("parked", "timed_out")]


def _utc(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Epoch-second columns as UTC timestamps, NaN as NaT."""
    for col in columns:
        seconds = frame[col].astype("float64")
        # NaN (a search that never parked) becomes NaT afterwards: pandas 2.3 converts float seconds with
        # NaN through uninitialised memory under np.errstate(over="raise"), which fails now and then.
        frame[col] = pd.to_datetime(seconds.fillna(0.0), unit="s", utc=True).where(seconds.notna())
    return frame


def zone_occupancy_hourly(visits: list[Visit], zones: tuple[Zone, ...], window: Window) -> pd.DataFrame:
    """Time-weighted average and peak occupied spaces per zone and hour, from parked intervals."""
    hours = int((window.end - window.start) // 3600)
    rows: list[dict[str, Any]] = []
    by_zone: dict[int, list[Visit]] = {}
    for v in parked_visits(visits):
        by_zone.setdefault(v.zone_index, []).append(v)
    for zi, zone in enumerate(zones):
        all_area, all_peak = _sweep(by_zone.get(zi, []), window, hours, app_only=False)
        app_area, app_peak = _sweep(by_zone.get(zi, []), window, hours, app_only=True)
        for h in range(hours):
            rows.append({
                "zone_id": zone.zoneId, "zone_type": zone.zoneType, "capacity": zone.capacity,
                "hour_start": pd.Timestamp(window.start + h * 3600, unit="s", tz="UTC"),
                "occupied_avg": all_area[h] / 3600, "occupied_peak": all_peak[h],
                "occupancy_rate": all_area[h] / 3600 / zone.capacity, "peak_rate": all_peak[h] / zone.capacity,
                "app_occupied_avg": app_area[h] / 3600, "app_occupied_peak": app_peak[h],
            })
    return pd.DataFrame(rows)


def _sweep(visits: list[Visit], window: Window, hours: int, app_only: bool) -> tuple[list[float], list[int]]:
    """Occupied vehicle-seconds and peak count per hour, by sweeping arrivals and departures."""
    changes: list[tuple[float, int]] = []
    for v in visits:
        if app_only and v.user_id is None:
            continue
        start = max(window.start, v.parked_at or window.start)
        end = min(window.end, v.departs_at or window.end)
        if end > start:
            changes += [(start, 1), (end, -1)]
    changes.sort(key=lambda c: (c[0], c[1]))  # departures before arrivals at the same instant
    area, peak = [0.0] * hours, [0] * hours

    def hold(level: int, t: float, until: float) -> None:
        """Spread `level` over [t, until) into the hours it covers."""
        while t < until:
            h = int((t - window.start) // 3600)
            seg_end = min(until, window.start + (h + 1) * 3600)
            area[h] += level * (seg_end - t)
            peak[h] = max(peak[h], level)
            t = seg_end

    level, t = 0, window.start
    for when, delta in changes:
        hold(level, t, when)
        level, t = level + delta, when
    hold(level, t, window.end)
    return area, peak


def street_counts(visits: list[Visit], zones: tuple[Zone, ...], window: Window, per_day: int,
                  rng) -> list[StreetCount]:
    """Parking surveys: at `per_day` random daytime instants (08:00-20:00 local) per street zone and day,
    the vehicles (app or not) parked there, exactly. What a city's manual counts would find."""
    from datetime import datetime

    from parkpal_lakehouse.simulator.world import MANILA

    stays: dict[int, list[tuple[float, float]]] = {}
    for v in parked_visits(visits):
        stays.setdefault(v.zone_index, []).append((v.parked_at, v.departs_at or window.end))
    out = []
    days = round((window.end - window.start) / 86_400)
    for zi, zone in enumerate(zones):
        if zone.gated:
            continue
        for day in range(days):
            for _ in range(per_day):
                t = round(window.start + day * 86_400 + rng.uniform(8, 20) * 3600)
                parked = sum(1 for start, end in stays.get(zi, ()) if start <= t < end)
                when = datetime.fromtimestamp(t, MANILA).isoformat(timespec="seconds")
                out.append(StreetCount(zone.zoneId, when, parked))
    return out


def stays_frame(visits: list[Visit], zones: tuple[Zone, ...]) -> pd.DataFrame:
    """Every parked vehicle's stay: `zone_id, zone_type, app_user, parked_at, departs_at` (UTC; a departure
    past the simulated window is kept: the car is still there at the window's end)."""
    rows = [{"zone_id": zones[v.zone_index].zoneId, "zone_type": zones[v.zone_index].zoneType,
             "app_user": v.user_id is not None, "parked_at": v.parked_at, "departs_at": v.departs_at}
            for v in parked_visits(visits)]
    frame = pd.DataFrame(rows, columns=["zone_id", "zone_type", "app_user", "parked_at", "departs_at"])
    return _utc(frame, ("parked_at", "departs_at"))


def parked_at_instant(stays: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """Vehicles parked per zone at the instant `at` (parked at or before it, not yet departed)."""
    here = stays[(stays["parked_at"] <= at) & (stays["departs_at"].isna() | (stays["departs_at"] > at))]
    return here.groupby("zone_id").size()


def searches_frame(searches: list[TrueSearch]) -> pd.DataFrame:
    # Named columns: a tiny city (one user) may make no search at all, and the frame keeps its shape.
    frame = pd.DataFrame([s.__dict__ for s in searches], columns=[f.name for f in dataclasses.fields(TrueSearch)])
    return _utc(frame, ("zone_entry_at", "circling_start", "parked_at", "confirmed_at", "departed_at"))


def write_truth(root: Path, searches: pd.DataFrame, occupancy: pd.DataFrame, manifest: dict[str, Any],
                stays: pd.DataFrame | None = None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if stays is not None:
        stays.to_parquet(root / "stays.parquet", index=False)
    searches.to_parquet(root / "searches.parquet", index=False)
    occupancy.to_parquet(root / "zone_occupancy_hourly.parquet", index=False)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def load_truth(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    return (
        pd.read_parquet(root / "searches.parquet"),
        pd.read_parquet(root / "zone_occupancy_hourly.parquet"),
        json.loads((root / "manifest.json").read_text()),
    )



def load_stays(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "stays.parquet")
