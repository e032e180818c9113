"""The platform device profile sends what the platforms document, not what our rules would like."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.simulator.run import generate
from parkpal_lakehouse.simulator.settings import SimulationSettings

TINY = dict(seed=31, zones=10, users=400, days=1)


@pytest.fixture(scope="module")
def cities(tmp_path_factory):
    out = {}
    for device in ("platform", "chatty"):
        root = tmp_path_factory.mktemp(device)
        out[device] = (generate(SimulationSettings(**TINY, device=device), root), root)
    return out


def _phone_events(city):
    per_user = defaultdict(list)
    for e in city.events:
        if e.hub is not Hub.GATE:
            per_user[int(e.key)].append(e)
    return per_user


def _quiet_while_parked(city) -> list[float]:
    """Per parked search that departed: the longest gap between phone events while the car stood."""
    per_user = _phone_events(city)
    gaps = []
    for s in city.searches:
        if s.outcome != "parked" or s.departed_at is None or s.departed_at - s.parked_at < 3600:
            continue
        times = sorted(e.ts for e in per_user[s.user_id] if s.parked_at + 120 < e.ts < s.departed_at - 600)
        edges = [s.parked_at + 120, *times, s.departed_at - 600]
        gaps.append(max(b - a for a, b in zip(edges, edges[1:], strict=False)))
    return gaps


def test_platform_phones_are_silent_while_parked_and_chatty_ones_send_a_heartbeat(cities):
    platform, chatty = (_quiet_while_parked(cities[d][0]) for d in ("platform", "chatty"))
    assert len(platform) > 30 and len(chatty) > 30
    assert pd.Series(platform).median() > 2 * 3600  # hours without a word
    assert max(chatty) < 20 * 60  # a STILL every ~15 minutes


def test_platform_activity_is_reported_on_change_only(cities):
    city, _ = cities["platform"]
    for events in _phone_events(city).values():
        kinds = [e.body["activityType"] for e in sorted(events, key=lambda e: e.ts) if e.hub is Hub.ACTIVITY
                 and e.body["confidence"] > 70]
        repeats = sum(a == b for a, b in zip(kinds, kinds[1:], strict=False))
        assert repeats <= len(kinds) // 3, kinds  # a repeat only across trips or around an unsure reading


def test_platform_timestamps_are_local_whole_seconds_and_geofence_alerts_arrive_late(cities):
    city, _ = cities["platform"]
    phone = [m for m in city.messages if m.hub is not Hub.GATE and '"timestamp":"2026' in m.body]
    assert phone and all("+08:00" in m.body and '.' not in m.body.split('"timestamp":"')[1][:25] for m in phone[:500])
    held = [e.held_s for e in city.events if e.hub is Hub.GEOFENCE]
    assert 5 < pd.Series(held).median() < 60 and max(held) <= 120


def test_geofence_entries_are_raised_for_all_but_a_few_searches(cities):
    city, _ = cities["platform"]
    enters = defaultdict(list)
    for e in city.events:
        if e.hub is Hub.GEOFENCE and e.body["transition"] == "ENTER":
            enters[(e.body["userId"], e.body["zoneId"])].append(e.ts)
    searches = [s for s in city.searches if s.outcome != "no_search"]
    seen = sum(any(0 <= s.zone_entry_at - t < 1.001 for t in enters[(s.user_id, s.zone_id)]) for s in searches)
    assert 0.99 * len(searches) <= seen <= len(searches)


def test_street_counts_are_the_vehicles_parked_at_the_instant(cities):
    _, root = cities["platform"]
    counts = pd.read_csv(root / "reference" / "street_counts.csv")
    zones = pd.read_csv(root / "reference" / "zones.csv")
    assert set(counts.zoneId) == set(zones[zones.zoneType == "STREET"].zoneId)
    assert counts.countedAt.str.endswith("+08:00").all()
    assert counts.countedAt.str[11:13].astype(int).between(8, 19).all()
    assert counts.vehicles.sum() > 0 and len(counts) == 2 * len(set(counts.zoneId))  # two a day per zone
    occupancy = pd.read_parquet(root / "truth" / "zone_occupancy_hourly.parquet")
    # a count never exceeds the most vehicles the truth saw parked in that zone-hour
    at = pd.to_datetime(counts.countedAt, utc=True).dt.floor("h")
    peaks = counts.assign(hour_start=at).merge(occupancy, left_on=["zoneId", "hour_start"],
                                               right_on=["zone_id", "hour_start"])
    assert len(peaks) == len(counts) and (peaks.vehicles <= peaks.occupied_peak).all()
    assert (peaks.vehicles > 0).mean() > 0.5


def test_unknown_device_profile_is_refused():
    with pytest.raises(ConfigError, match="--device must be one of platform, chatty"):
        SimulationSettings(device="iphone")
