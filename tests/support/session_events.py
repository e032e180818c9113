"""The simulator's clean events as sessionization sees them, without Spark (for the pure rule tests)."""

from __future__ import annotations

from collections import defaultdict

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.sessions.rules import SessionEvent, ZoneGeometry
from parkpal_lakehouse.simulator.run import SimulatedCity


def events_by_user(city: SimulatedCity, plates: dict[str, int]) -> dict[int, list[SessionEvent]]:
    per_user: dict[int, list[SessionEvent]] = defaultdict(list)
    for i, e in enumerate(city.events):
        b, t = e.body, round(e.ts * 1000)
        key = b.get("eventId") or f"record-{i}"
        if e.hub is Hub.ACTIVITY:
            per_user[b["userId"]].append(SessionEvent(t, "activity", key, b["activityType"], b["confidence"], 0,
                                                      b["latitude"], b["longitude"]))
        elif e.hub is Hub.GEOFENCE:
            per_user[b["userId"]].append(SessionEvent(t, "geofence", key, b["transition"], 0, b["zoneId"],
                                                      b["latitude"], b["longitude"]))
        elif b["eventType"] in ("VEHICLE_ENTRY", "VEHICLE_EXIT") and b["licensePlate"] in plates:
            per_user[plates[b["licensePlate"]]].append(SessionEvent(t, "gate", key, b["eventType"], 0, b["zoneId"]))
    return per_user


def geometry(city: SimulatedCity, zones) -> dict[int, ZoneGeometry]:
    return {z.zoneId: ZoneGeometry(z.latitude, z.longitude, z.radiusM) for z in zones}
