"""What phones and gates send for each visit, as clean events in event-time order.

Phones: activity readings every ~10 s while driving or searching, a STILL run when the car stops,
sparse STILL heartbeats while parked, sustained IN_VEHICLE on leaving; geofence ENTER/EXIT at the
zone's edge. Gates (LOT/GARAGE): VEHICLE_ENTRY, PAYMENT, VEHICLE_EXIT by licence plate.
Emitters also report the truth only they know: when parking became observable (`confirmed_at`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.contracts.reference import Zone
from parkpal_lakehouse.simulator.city import offset_position, random_plate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.world import Visit

_PAYMENT_METHODS = (("MOBILE_PAYMENT", 0.45), ("CASH", 0.30), ("CREDIT_CARD", 0.15), ("DEBIT_CARD", 0.10))


@dataclass(slots=True)
class Event:
    ts: float  # event time, epoch seconds UTC
    hub: Hub
    key: str  # partition key: userId for app events, zoneId for gate events
    body: dict[str, Any]
    # Seconds between the event and its hand-over to the network (the OS's geofence latency).
    held_s: float = 0.0
    # How the sender writes `timestamp`: "utc_ms" (UTC, milliseconds, Z) or "local_s" (Manila local
    # time, whole seconds, +08:00; gates always send local time).
    clock: str = "utc_ms"


@dataclass
class Emitted:
    events: list[Event] = field(default_factory=list)
    confirmed_at: float | None = None
    app_session_id: int | None = None
    gate_entry_id: str | None = None
    paid_amount: float = 0.0


def vehicle_type(plate: str) -> str:
    """Deterministic per plate (Python's hash() is salted per process): about 1 in 12 a motorcycle."""
    return "MOTORCYCLE" if sum(map(ord, plate)) % 12 == 0 else "CAR"


class Emitter:
    """Turns visits into events; one instance per simulation so ids are unique and deterministic."""

    def __init__(self, zones: tuple[Zone, ...], settings: SimulationSettings, rng: random.Random, end: float):
        self.zones, self.settings, self.rng, self.end = zones, settings, rng, end
        self._ids = 0

    def _id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids:09d}"

    def _jitter(self, lat: float, lon: float) -> tuple[float, float]:
        sigma = self.settings.noise.gps_jitter_m
        if sigma <= 0:
            return round(lat, 6), round(lon, 6)
        lat, lon = offset_position(lat, lon, abs(self.rng.gauss(0, sigma)), self.rng.uniform(0, 2 * math.pi))
        return round(lat, 6), round(lon, 6)

    def _inside(self, zone: Zone) -> tuple[float, float]:
        d = zone.radiusM * 0.7 * math.sqrt(self.rng.random())
        return self._jitter(*offset_position(zone.latitude, zone.longitude, d, self.rng.uniform(0, 2 * math.pi)))

    def _edge(self, zone: Zone, bearing: float, factor: float = 1.0) -> tuple[float, float]:
        return self._jitter(*offset_position(zone.latitude, zone.longitude, zone.radiusM * factor, bearing))

    # --- phone events -------------------------------------------------------------------------
    def _activity(self, out: Emitted, user: int, ts: float, kind: str, conf: int, pos: tuple) -> None:
        if ts >= self.end:
            return
        body = {"userId": user, "sessionId": out.app_session_id, "activityType": kind, "confidence": conf,
                "latitude": pos[0], "longitude": pos[1], "timestamp": ts}
        if self.rng.random() < 0.9:  # eventId is optional in the contract; some app versions omit it
            body["eventId"] = self._id("act")
        out.events.append(Event(ts, Hub.ACTIVITY, str(user), body))

    def _geofence(self, out: Emitted, user: int, zone: Zone, ts: float, transition: str, pos: tuple) -> None:
        if ts >= self.end:
            return
        body = {"userId": user, "sessionId": out.app_session_id, "zoneId": zone.zoneId,
                "transition": transition, "latitude": pos[0], "longitude": pos[1], "timestamp": ts}
        if self.rng.random() < 0.9:
            body["eventId"] = self._id("geo")
        out.events.append(Event(ts, Hub.GEOFENCE, str(user), body))

    def _driving(self, out: Emitted, user: int, zone: Zone, start: float, end: float) -> None:
        """IN_VEHICLE readings inside the zone every ~interval seconds in [start, end)."""
        step = self.settings.activity_interval_s
        t = start + step * self.rng.uniform(0.6, 1.0)
        while t < end:
            self._activity(out, user, t, "IN_VEHICLE", self.rng.randint(75, 100), self._inside(zone))
            t += step * self.rng.uniform(0.85, 1.15)

    def app_visit(self, visit: Visit) -> Emitted:
        rng, zone, user = self.rng, self.zones[visit.zone_index], visit.user_id
        assert user is not None
        out = Emitted(app_session_id=rng.randrange(10**11, 10**12))
        bearing, t0 = rng.uniform(0, 2 * math.pi), visit.arrived_at
        if visit.outcome == "no_search":
            for dt in (-25.0, -12.0):
                self._activity(out, user, t0 + dt, "WALKING", rng.randint(70, 100), self._edge(zone, bearing, 1.3))
            self._geofence(out, user, zone, t0, "ENTER", self._edge(zone, bearing))
            t = t0 + 10
            while t < (visit.left_at or t0):
                self._activity(out, user, t, "WALKING", rng.randint(70, 100), self._inside(zone))
                t += 15
            self._geofence(out, user, zone, visit.left_at or t, "EXIT", self._edge(zone, bearing + 2.5))
            return out
        for dt in (-25.0, -12.0):
            self._activity(out, user, t0 + dt, "IN_VEHICLE", rng.randint(85, 100), self._edge(zone, bearing, 1.4))
        self._geofence(out, user, zone, t0, "ENTER", self._edge(zone, bearing))
        if visit.outcome == "abandoned":
            left = visit.left_at or t0
            self._driving(out, user, zone, t0, left)
            exit_bearing = bearing + rng.uniform(2.0, 4.0)
            self._geofence(out, user, zone, left, "EXIT", self._edge(zone, exit_bearing))
            for dt in (10.0, 20.0):
                self._activity(out, user, left + dt, "IN_VEHICLE", rng.randint(85, 100),
                               self._edge(zone, exit_bearing, 1.5))
            return out
        if visit.outcome == "timed_out":  # the phone goes quiet mid-search
            self._driving(out, user, zone, t0, t0 + rng.uniform(20, 60))
            return out
        assert visit.parked_at is not None and visit.departs_at is not None
        parked_at, departs = visit.parked_at, visit.departs_at
        self._driving(out, user, zone, t0, parked_at)
        spot = self._inside(zone)
        still_start = parked_at
        if zone.gated:
            self._gate_entry(out, zone, parked_at, visit.plate or "")
            out.confirmed_at = parked_at
            still_start = parked_at + rng.uniform(8, 15)  # from the gate to a space, no reading between
        self._parked(out, user, zone, still_start, departs, spot)
        self._departure(out, user, zone, departs, bearing)
        if zone.gated:
            self._gate_leave(out, zone, parked_at, departs, visit.plate or "")
        return out

    def _parked(self, out: Emitted, user: int, zone: Zone, start: float, departs: float, spot: tuple) -> None:
        rng, step = self.rng, self.settings.activity_interval_s
        run_end = min(start + rng.uniform(60, 120), departs - 5)
        t = start  # the first STILL reading is the moment the car stopped: the true parked_at
        while t < run_end:
            self._activity(out, user, t, "STILL", rng.randint(80, 100), self._jitter(*spot))
            if out.confirmed_at is None and t - start >= 30:
                out.confirmed_at = t
            t += step * rng.uniform(0.9, 1.1)
        if rng.random() < self.settings.noise.activity_flap_rate:
            flap = start + rng.uniform(12, 28)
            if flap < run_end:
                self._activity(out, user, flap, rng.choice(["IN_VEHICLE", "TILTING", "ON_FOOT"]),
                               rng.randint(20, 60), self._jitter(*spot))
        t = run_end + self.settings.parked_heartbeat_s
        while t < departs - 30:
            self._activity(out, user, t, "STILL", rng.randint(85, 100), self._jitter(*spot))
            t += self.settings.parked_heartbeat_s * rng.uniform(0.9, 1.1)
        if rng.random() < self.settings.noise.geofence_flap_rate and departs - run_end > 300:
            flap = rng.uniform(run_end + 30, min(departs - 200, run_end + 3600))
            b = rng.uniform(0, 2 * math.pi)
            self._geofence(out, user, zone, flap, "EXIT", self._edge(zone, b, 1.05))
            self._geofence(out, user, zone, flap + rng.uniform(5, 30), "ENTER", self._edge(zone, b, 0.97))

    def _departure(self, out: Emitted, user: int, zone: Zone, departs: float, bearing: float) -> None:
        rng = self.rng
        for k in range(4):
            self._activity(out, user, departs + 10 * k, "IN_VEHICLE", rng.randint(85, 100), self._inside(zone))
        exit_at = departs + rng.uniform(45, 70)
        self._geofence(out, user, zone, exit_at, "EXIT", self._edge(zone, bearing + 3.0))
        self._activity(out, user, exit_at + 10, "IN_VEHICLE", rng.randint(85, 100),
                       self._edge(zone, bearing + 3.0, 1.5))

    # --- gate events --------------------------------------------------------------------------
    def _gate(self, out: Emitted, zone: Zone, ts: float, body: dict[str, Any]) -> None:
        if ts < self.end:
            out.events.append(Event(ts, Hub.GATE, str(zone.zoneId), {"timestamp": ts, "zoneId": zone.zoneId,
                                                                      **body}))

    def _lane(self, zone: Zone, event_type: str, plate: str, event_id: str) -> dict[str, Any]:
        direction = "IN" if event_type == "VEHICLE_ENTRY" else "OUT"
        body = {"eventType": event_type, "eventId": event_id, "gateId": f"G{zone.zoneId}-{direction}",
                "laneId": f"L{self.rng.randint(1, 2)}", "licensePlate": plate,
                "plateConfidence": round(self.rng.uniform(0.82, 0.995), 3),
                "vehicleType": vehicle_type(plate)}
        if self.rng.random() < 0.5:
            body["imageUrl"] = f"https://gates.parkpal.example/{zone.zoneId}/{event_id}.jpg"
        return body

    def _gate_entry(self, out: Emitted, zone: Zone, ts: float, plate: str) -> None:
        entry_id = self._id("gate")
        out.gate_entry_id = entry_id
        self._gate(out, zone, ts, self._lane(zone, "VEHICLE_ENTRY", plate, entry_id))

    def _gate_leave(self, out: Emitted, zone: Zone, entered: float, departs: float, plate: str) -> None:
        rng = self.rng
        minutes = max(1, round((departs - entered) / 60))
        r = rng.random()
        paid_at = departs + rng.uniform(5, 15)
        if r < 0.90:  # 85% pay; 5% fail and leave (attendant override); 10% hold a season pass
            status = "COMPLETED" if r < 0.85 else "FAILED"
            amount = float(math.ceil(minutes / 60) * zone.hourlyRate)
            txn = self._id("txn")
            pay = {"eventType": "PAYMENT", "eventId": self._id("pay"), "transactionId": txn,
                   "licensePlate": plate, "amount": amount, "currency": zone.currency,
                   "paymentMethod": rng.choices([m for m, _ in _PAYMENT_METHODS],
                                                [w for _, w in _PAYMENT_METHODS])[0],
                   "paymentStatus": status, "parkingDurationMinutes": minutes}
            self._gate(out, zone, paid_at, pay)
            if status == "COMPLETED" and paid_at < self.end:
                out.paid_amount += amount
                if rng.random() < 0.01:
                    refund = {**pay, "eventId": self._id("pay"), "paymentStatus": "REFUNDED"}
                    self._gate(out, zone, paid_at + 3600, refund)
                    if paid_at + 3600 < self.end:
                        out.paid_amount -= amount
        exit_body = self._lane(zone, "VEHICLE_EXIT", plate, self._id("gate"))
        exit_body["entryEventId"] = out.gate_entry_id
        self._gate(out, zone, departs + rng.uniform(20, 40), exit_body)

    def background_visit(self, visit: Visit) -> Emitted:
        """A vehicle without the app at a gated car park: gate events only."""
        out = Emitted()
        zone = self.zones[visit.zone_index]
        if not zone.gated or visit.outcome != "parked" or visit.parked_at is None:
            return out
        plate = random_plate(self.rng)
        self._gate_entry(out, zone, visit.parked_at, plate)
        self._gate_leave(out, zone, visit.parked_at, visit.departs_at or self.end, plate)
        return out
