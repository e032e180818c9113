"""Phones as the mobile platforms document them (the default `platform` device profile).

What the rules may not assume, and this model does (docs/simulator.md cites the platform behaviour):
- activity is reported on a *change* of activity (Android's Activity Recognition Transition API,
  iOS motion activity updates), stamped with when the change happened; a phone that stays still
  reports nothing more: no heartbeat while parked, however long;
- the trip's IN_VEHICLE was reported when the drive began, far from the zone; circling itself is
  silent unless the car stops (a red light: STILL, then IN_VEHICLE again);
- drivers get out and walk (WALKING/ON_FOOT), often out of the zone (a geofence EXIT on foot), and
  come back hours later: walking, ENTER on foot, IN_VEHICLE, EXIT;
- geofence alerts reach the app up to two minutes late and are occasionally never raised;
- timestamps are Manila local time to the second (`+08:00`).
Gates behave as in the chatty profile. Ground truth is the world's (`world.Visit`), not the events'.
"""

from __future__ import annotations

import math

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.contracts.reference import Zone
from parkpal_lakehouse.simulator.city import offset_position
from parkpal_lakehouse.simulator.emitters import Emitted, Emitter, Event
from parkpal_lakehouse.simulator.world import Visit

FOOT = ("WALKING", "ON_FOOT")


class PlatformEmitter(Emitter):
    """`Emitter` whose phones report transitions only (gates and background vehicles unchanged)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_report: dict[int, float] = {}  # per user: the last thing the phone sent

    def app_visit(self, visit: Visit) -> Emitted:
        out = self._visit(visit)
        phone = [e.ts for e in out.events if e.hub is not Hub.GATE]
        if phone and visit.user_id is not None:
            self._last_report[visit.user_id] = max(phone)
        return out

    def _phone(self, out: Emitted, ts: float, hub: Hub, user: int, body: dict, held_s: float = 0.0) -> None:
        ts = math.floor(ts)  # the wire carries whole seconds; the event time is what the phone sent
        if ts >= self.end:
            return
        body = {"userId": user, "sessionId": out.app_session_id, **body, "timestamp": ts}
        if self.rng.random() < 0.9:
            body["eventId"] = self._id("act" if hub is Hub.ACTIVITY else "geo")
        out.events.append(Event(ts, hub, str(user), body, held_s=held_s, clock="local_s"))

    def _act(self, out: Emitted, user: int, ts: float, kind: str, conf: int, pos: tuple) -> None:
        self._phone(out, ts, Hub.ACTIVITY, user, {"activityType": kind, "confidence": conf,
                                                  "latitude": pos[0], "longitude": pos[1]})

    def _fence(self, out: Emitted, user: int, zone: Zone, ts: float, transition: str, pos: tuple) -> None:
        phone = self.settings.platform
        if self.rng.random() < phone.missed_geofence_rate:
            return
        latency = min(phone.geofence_latency_max_s, self.rng.lognormvariate(math.log(phone.geofence_latency_median_s),
                                                                             0.8))
        self._phone(out, ts, Hub.GEOFENCE, user, {"zoneId": zone.zoneId, "transition": transition,
                                                  "latitude": pos[0], "longitude": pos[1]}, held_s=latency)

    def _away(self, zone: Zone, metres: float) -> tuple[float, float]:
        return self._jitter(*offset_position(zone.latitude, zone.longitude, metres, self.rng.uniform(0, 2 * math.pi)))

    def _visit(self, visit: Visit) -> Emitted:
        rng, zone, user, phone = self.rng, self.zones[visit.zone_index], visit.user_id, self.settings.platform
        assert user is not None
        out = Emitted(app_session_id=rng.randrange(10**11, 10**12))
        bearing, t0 = rng.uniform(0, 2 * math.pi), visit.arrived_at
        if visit.outcome == "no_search":
            began = max(t0 - rng.uniform(60, 900), self._last_report.get(user, -math.inf) + 1)
            self._act(out, user, min(began, t0 - 1), rng.choice(FOOT), rng.randint(75, 100),
                      self._edge(zone, bearing, 2.0))
            self._fence(out, user, zone, t0, "ENTER", self._edge(zone, bearing))
            self._fence(out, user, zone, visit.left_at or t0 + 120, "EXIT", self._edge(zone, bearing + 2.5))
            return out
        # The drive began minutes earlier, kilometres away; the zone is entered without a new report.
        began = max(t0 - rng.uniform(300, 2400), self._last_report.get(user, -math.inf) + 1)
        self._act(out, user, min(began, t0 - 1), "IN_VEHICLE", rng.randint(75, 100),
                  self._away(zone, rng.uniform(2000, 6000)))
        self._fence(out, user, zone, t0, "ENTER", self._edge(zone, bearing))
        search_end = visit.parked_at if visit.outcome == "parked" else (visit.left_at or t0 + 60)
        if rng.random() < phone.red_light_rate and search_end - t0 > 45:
            stop = rng.uniform(t0 + 5, search_end - 40)
            self._act(out, user, stop, "STILL", rng.randint(80, 100), self._inside(zone))
            self._act(out, user, stop + rng.uniform(5, 19), "IN_VEHICLE", rng.randint(75, 100), self._inside(zone))
        if visit.outcome == "abandoned":
            self._fence(out, user, zone, search_end, "EXIT", self._edge(zone, bearing + rng.uniform(2.0, 4.0)))
            return out
        if visit.outcome == "timed_out":  # the phone goes quiet mid-search (switched off, app killed)
            return out
        assert visit.parked_at is not None and visit.departs_at is not None
        self._parked(out, user, zone, visit)
        self._return(out, user, zone, visit, bearing)
        if zone.gated:
            self._gate_leave(out, zone, visit.parked_at, visit.departs_at, visit.plate or "")
        return out

    def _parked(self, out: Emitted, user: int, zone: Zone, visit: Visit) -> None:
        rng, phone = self.rng, self.settings.platform
        parked_at, departs = visit.parked_at or 0.0, visit.departs_at or 0.0
        spot = self._inside(zone)
        stopped = parked_at
        if zone.gated:
            self._gate_entry(out, zone, parked_at, visit.plate or "")
            out.confirmed_at = parked_at
            stopped = parked_at + rng.uniform(8, 15)  # from the barrier to a space
        elif rng.random() < phone.unsure_still_rate and parked_at - visit.arrived_at > 20:
            self._act(out, user, parked_at - rng.uniform(3, 15), "STILL", rng.randint(30, 75), self._jitter(*spot))
        self._act(out, user, stopped, "STILL", rng.randint(80, 100), self._jitter(*spot))
        noise = self.settings.noise
        if rng.random() < noise.activity_flap_rate:  # one unsure reading while the car stands
            self._act(out, user, stopped + rng.uniform(3, 25), rng.choice(["IN_VEHICLE", "TILTING", "ON_FOOT"]),
                      rng.randint(20, 60), self._jitter(*spot))
        if rng.random() >= phone.walk_away_rate:  # stays in the car, or the walk is never reported
            if out.confirmed_at is None:
                out.confirmed_at = stopped + 30
            if rng.random() < noise.geofence_flap_rate and departs - stopped > 600:  # GPS drift across the fence
                flap, b = rng.uniform(stopped + 60, departs - 300), rng.uniform(0, 2 * math.pi)
                self._fence(out, user, zone, flap, "EXIT", self._edge(zone, b, 1.05))
                self._fence(out, user, zone, flap + rng.uniform(5, 30), "ENTER", self._edge(zone, b, 0.97))
            return
        walk = stopped + rng.uniform(8, 90)
        if walk >= departs - 120:
            return
        self._act(out, user, walk, rng.choice(FOOT), rng.randint(75, 100), self._jitter(*spot))
        if out.confirmed_at is None:
            out.confirmed_at = min(walk, stopped + 30)
        if rng.random() < phone.walk_out_of_zone_rate and departs - walk > 900:
            b = rng.uniform(0, 2 * math.pi)
            self._fence(out, user, zone, walk + rng.uniform(60, 400), "EXIT", self._edge(zone, b, 1.05))
            out_at = walk + rng.uniform(500, 800)
            self._act(out, user, out_at, "STILL", rng.randint(70, 100), self._away(zone, rng.uniform(300, 900)))
            back = departs - rng.uniform(120, 600)
            if back > out_at + 60:
                self._act(out, user, back, "WALKING", rng.randint(75, 100), self._away(zone, rng.uniform(300, 900)))
                self._fence(out, user, zone, back + rng.uniform(60, 100), "ENTER", self._edge(zone, b, 0.97))

    def _return(self, out: Emitted, user: int, zone: Zone, visit: Visit, bearing: float) -> None:
        rng, phone = self.rng, self.settings.platform
        departs = visit.departs_at or 0.0
        drive = departs + rng.uniform(0, 10)  # the transition is stamped when the drive was recognised
        self._act(out, user, drive, "IN_VEHICLE", rng.randint(75, 100), self._inside(zone))
        if rng.random() < phone.exit_queue_rate:
            queue = drive + rng.uniform(5, 15)
            self._act(out, user, queue, "STILL", rng.randint(80, 100), self._inside(zone))
            self._act(out, user, queue + rng.uniform(10, 40), "IN_VEHICLE", rng.randint(75, 100), self._inside(zone))
        self._fence(out, user, zone, departs + rng.uniform(60, 120), "EXIT", self._edge(zone, bearing + 3.0))
