"""The circling rules: one user's events, in event-time order, become searches for parking.

Pure Python, no Spark: the streaming processor and the batch twin both drive a `UserTracker`, so
the two paths cannot disagree about what a session is. Times are epoch milliseconds (UTC). The rules
assume only what the platforms promise: activity is reported on *change* (a transition), not as a
heartbeat, so the last confident activity holds until the next one (`activity_hold_seconds`), and a
run "lasts" as long as nothing contradicts it. docs/sessionization.md states each rule with a
hand-written sequence (tests/sessions/test_rules.py).

A search (session) per user:
- starts at a geofence ENTER. `circling_start` is the ENTER if the user's current activity (the last
  confident one) is IN_VEHICLE, else the first confident IN_VEHICLE after it; a user who never drives
  in the zone ends as `no_search`.
- is **parked** at the start of a STILL run (confidence >= `still_min_confidence`, inside the zone's
  radius + tolerance) that lasts `still_min_seconds` with nothing contradicting it (confirmed then);
  at the start of a STILL run (or at the walk itself) when the driver then walks inside the zone
  (walking/on foot/running, confidence >= `walk_min_confidence`: the driver got out of the car); or
  at a gate VEHICLE_ENTRY of one of the user's vehicles into the zone, confirmed at once. A single
  low-confidence reading (<= `flap_max_confidence`) inside a run is a flap and is ignored; two in a
  row, or a confident reading of another kind, end the run.
- is **abandoned** when the user leaves the zone before parking (`circling_seconds` = exit - start,
  flagged as `circling_is_estimate`), **timed_out** after `silence_timeout_seconds` of silence
  before parking.
- once parked, stays open however long the phone is silent, until departure evidence: IN_VEHICLE
  sustained `departure_min_seconds` (departed at its start), a confirmed zone EXIT while not on foot,
  or a gate VEHICLE_EXIT, whichever shows first. An EXIT or another zone's ENTER on foot is the driver
  walking away from the car and changes nothing. With no evidence for `max_stay_seconds` after
  parking it closes with `departure_source='unknown'` and no departure time.
- GPS jitter: an EXIT followed by an ENTER of the same zone within `jitter_reentry_seconds` is
  ignored, so an EXIT only counts once that long has passed without a re-entry.

Deadlines (a run lasting long enough, the jitter window, the silence timeout, the longest stay, the
activity hold) fire when time moves strictly past them: before an event with a later time is
applied, or when the caller advances the clock.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from parkpal_lakehouse.config import CirclingRules

KIND_RANK = {"gate": 0, "geofence": 1, "activity": 2}  # tie-break at equal event times


class SessionEvent(NamedTuple):
    """One event as sessionization sees it."""

    t: int  # event time, epoch ms
    kind: str  # activity | geofence | gate
    key: str  # a stable id (event id or record id), the last tie-break
    what: str  # activity type | ENTER/EXIT | VEHICLE_ENTRY/VEHICLE_EXIT
    confidence: int = 0
    zone_id: int = 0
    latitude: float = math.nan
    longitude: float = math.nan

    def order(self) -> tuple[int, int, str]:
        return self.t, KIND_RANK[self.kind], self.key


@dataclass(frozen=True)
class ZoneGeometry:
    latitude: float
    longitude: float
    radius_m: float


def session_id(user_id: int, zone_id: int, zone_entry_ms: int) -> str:
    """Deterministic: the same search gets the same id in streaming, batch and repair."""
    return hashlib.sha256(f"{user_id}|{zone_id}|{zone_entry_ms}".encode()).hexdigest()[:32]


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(a))


ON_FOOT = frozenset({"WALKING", "ON_FOOT", "RUNNING"})
MOVING = frozenset({"IN_VEHICLE", "ON_BICYCLE"})

# An open session is a plain dict of small values. Keys:
_NEW_SESSION = {
    "id": "", "zone": 0, "entry": 0, "start": None, "phase": "entered",  # entered | searching | parked
    "run_start": None, "run_flap": False,  # STILL run while searching
    "parked_at": None, "confirmed_at": None, "confirmation": None,
    "drive_start": None, "drive_flap": False, "drive_pause": None,  # IN_VEHICLE run while parked
    "exit_at": None,  # an EXIT waiting out the jitter window
    "n_activity": 0, "n_geofence": 0, "n_gate": 0, "ignored_exits": 0, "ignored_flaps": 0,
}
# Deadlines due at the same instant fire in this order.
_DEADLINE_RANK = {kind: rank for rank, kind in enumerate(
    ("drive", "pause", "still", "exit", "max_stay", "silence", "forget"))}


class UserTracker:
    """One user's sessionization state: buffered events, the current activity, the open session.

    `accept` buffers events (returning the late ones), `process_until(horizon)` applies buffered
    events older than `horizon` in order and fires deadlines before it, returning closed sessions.
    """

    def __init__(self, user_id: int, rules: CirclingRules, zones: dict[int, ZoneGeometry]):
        self.user_id, self.rules, self.zones = user_id, rules, zones
        self.pending: list[SessionEvent] = []
        self.processed_ms: int | None = None  # everything before this has been applied
        self.last_event_ms: int | None = None
        self.last_activity: tuple[int, str] | None = None  # (t, type) of the last confident reading
        self.open: dict[str, Any] | None = None
        self._closed: list[dict[str, Any]] = []

    # --- driving the tracker -----------------------------------------------------------------
    def accept(self, events: list[SessionEvent], fresh_floor_ms: int | None = None) -> list[SessionEvent]:
        """Buffer `events`; return the late ones: older than what this state has already applied, or, for
        a user without state (new, or forgotten), older than `fresh_floor_ms` (the stream's current
        watermark: what came before it may already have been applied and forgotten)."""
        done = self.processed_ms if self.processed_ms is not None else fresh_floor_ms
        late = [e for e in events if done is not None and e.t < done]
        self.pending.extend(e for e in events if done is None or e.t >= done)
        return late

    def process_until(self, horizon_ms: int) -> list[dict[str, Any]]:
        """Apply buffered events with t < horizon in order, fire deadlines before it; return closed sessions."""
        if self.processed_ms is not None and horizon_ms <= self.processed_ms:
            return []
        self.pending.sort(key=SessionEvent.order)
        cut = next((i for i, e in enumerate(self.pending) if e.t >= horizon_ms), len(self.pending))
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        for event in ready:
            self._advance(event.t)
            self._apply(event)
        self._advance(horizon_ms)
        self.processed_ms = horizon_ms
        closed, self._closed = self._closed, []
        return closed

    @property
    def evictable(self) -> bool:
        """Nothing left worth keeping: no open session, nothing buffered, no current activity."""
        return self.open is None and not self.pending and self.last_activity is None

    def wake_at(self) -> int | None:
        """The earliest horizon at which `process_until` would do something new."""
        times = [e.t + 1 for e in self.pending]
        deadline = self._next_deadline()
        if deadline is not None:
            times.append(deadline[0] + 1)
        return min(times) if times else None

    # --- deadlines -----------------------------------------------------------------------------
    def _deadlines(self) -> list[tuple[int, str]]:
        s, r = self.open, self.rules
        out: list[tuple[int, str]] = []
        if s is None:
            if self.last_activity is not None:
                out.append((self.last_activity[0] + 1000 * r.activity_hold_seconds, "forget"))
            return out
        if s["exit_at"] is not None:
            out.append((s["exit_at"] + 1000 * r.jitter_reentry_seconds, "exit"))
        if s["phase"] == "parked":
            out.append((s["parked_at"] + 1000 * r.max_stay_seconds, "max_stay"))
            if s["drive_pause"] is not None:
                out.append((s["drive_pause"] + 1000 * r.still_min_seconds, "pause"))
            elif s["drive_start"] is not None:
                out.append((s["drive_start"] + 1000 * r.departure_min_seconds, "drive"))
        else:
            if s["run_start"] is not None:
                out.append((s["run_start"] + 1000 * r.still_min_seconds, "still"))
            if self.last_event_ms is not None:
                out.append((self.last_event_ms + 1000 * r.silence_timeout_seconds, "silence"))
        return out

    def _next_deadline(self) -> tuple[int, str] | None:
        best = None
        for deadline in self._deadlines():
            if best is None or (deadline[0], _DEADLINE_RANK[deadline[1]]) < (best[0], _DEADLINE_RANK[best[1]]):
                best = deadline
        return best

    def _advance(self, now_ms: int) -> None:
        while (deadline := self._next_deadline()) is not None and deadline[0] < now_ms:
            at, kind = deadline
            s = self.open
            if kind == "forget":
                self.last_activity, self.last_event_ms = None, None
            elif s is None:
                return
            elif kind == "exit":
                self._leave(s, s["exit_at"], closed_at=at, source="geofence")
            elif kind == "still":
                self._park(s, s["run_start"], at, "activity")
            elif kind == "pause":  # stopped long enough to be parked again: that was no departure
                s["drive_start"], s["drive_flap"], s["drive_pause"] = None, False, None
            elif kind == "drive":
                self._close(s, "parked", closed_at=at, departed_at=s["drive_start"], source="activity")
            elif kind == "max_stay":
                self._close(s, "parked", closed_at=at, source="unknown")
            else:  # silence before parking
                self._close(s, "timed_out" if s["phase"] == "searching" else "no_search", closed_at=at)

    # --- events ----------------------------------------------------------------------------------
    def _apply(self, e: SessionEvent) -> None:
        self.last_event_ms = e.t
        if e.kind == "activity":
            self._activity(e)
        elif e.kind == "geofence":
            self._geofence(e)
        else:
            self._gate(e)

    def _is_flap(self, e: SessionEvent) -> bool:
        r = self.rules
        return e.confidence <= r.flap_max_confidence or (e.what == "STILL" and e.confidence < r.still_min_confidence)

    def on_foot(self) -> bool:
        """The user's current activity is walking (or on foot, running): not in the car."""
        return self.last_activity is not None and self.last_activity[1] in ON_FOOT

    def _activity(self, e: SessionEvent) -> None:
        flap, s, rules = self._is_flap(e), self.open, self.rules
        if not flap:
            self.last_activity = (e.t, e.what)
        if s is None:
            return
        s["n_activity"] += 1
        driving = e.what == "IN_VEHICLE" and not flap
        if s["phase"] == "entered":
            if driving and s["exit_at"] is None:  # (after an EXIT the drive is not in the zone)
                s["start"], s["phase"] = e.t, "searching"
        elif s["phase"] == "searching":
            inside = self._inside(s["zone"], e)
            if e.what == "STILL" and not flap and inside:
                if s["run_start"] is None:
                    s["run_start"] = e.t
                s["run_flap"] = False
                if e.t - s["run_start"] >= 1000 * rules.still_min_seconds:
                    self._park(s, s["run_start"], s["run_start"] + 1000 * rules.still_min_seconds, "activity")
            elif e.what in ON_FOOT and e.confidence >= rules.walk_min_confidence and inside:
                # The driver got out: the car stopped at the start of the STILL run (or now, if none).
                self._park(s, s["run_start"] if s["run_start"] is not None else e.t, e.t, "activity")
            elif s["run_start"] is None:
                pass
            elif flap and not s["run_flap"]:
                s["run_flap"] = True
                s["ignored_flaps"] += 1
            elif flap or e.what in MOVING or not inside:
                s["run_start"], s["run_flap"] = None, False  # the car moves on (or two flaps in a row)
            # anything else (tilting, unknown, walking below the confidence) neither ends nor confirms the run
        else:  # parked: watch for the drive away
            self._parked_activity(s, e, flap, driving)

    def _parked_activity(self, s: dict[str, Any], e: SessionEvent, flap: bool, driving: bool) -> None:
        """A drive run departs once it has lasted `departure_min_seconds`; a STILL pause shorter than
        `still_min_seconds` (a queue at the exit) does not end it, walking or a longer stop does."""
        rules = self.rules
        if driving:
            if s["drive_start"] is None:
                s["drive_start"] = e.t
            s["drive_flap"], s["drive_pause"] = False, None
            if e.t - s["drive_start"] >= 1000 * rules.departure_min_seconds:
                self._close(s, "parked", closed_at=max(e.t, s["drive_start"] + 1000 * rules.departure_min_seconds),
                            departed_at=s["drive_start"], source="activity")
        elif s["drive_start"] is None:
            return
        elif flap and not s["drive_flap"]:
            s["drive_flap"] = True
        elif e.what == "STILL" and not flap:
            if s["drive_pause"] is None:
                s["drive_pause"] = e.t
        elif e.what in ON_FOOT or flap:
            s["drive_start"], s["drive_flap"], s["drive_pause"] = None, False, None

    def _geofence(self, e: SessionEvent) -> None:
        s = self.open
        if e.what == "ENTER":
            if s is not None and s["zone"] == e.zone_id:
                s["n_geofence"] += 1
                if s["exit_at"] is not None:  # back within the jitter window: the EXIT was GPS noise
                    s["exit_at"] = None
                    s["ignored_exits"] += 1
                return
            if s is not None and s["phase"] == "parked" and self.on_foot():
                return  # walking through another zone away from the parked car: not a search
            if s is not None:  # into another zone without a confirmed exit from this one
                self._leave(s, s["exit_at"] if s["exit_at"] is not None else e.t, closed_at=e.t, source="geofence")
            self._start(e)
        elif s is not None and s["zone"] == e.zone_id:  # EXIT
            s["n_geofence"] += 1
            if s["phase"] == "parked" and s["drive_start"] is None and self.on_foot():
                s["ignored_exits"] += 1  # the driver walks out of the zone; the car stays
            elif s["exit_at"] is None:
                s["exit_at"] = e.t

    def _gate(self, e: SessionEvent) -> None:
        s = self.open
        if s is None or s["zone"] != e.zone_id:
            return  # a gate event of the user's vehicle outside a search: nothing to decide here
        s["n_gate"] += 1
        if e.what == "VEHICLE_ENTRY" and s["phase"] != "parked":
            if s["start"] is None:
                s["start"] = s["entry"]
            self._park(s, e.t, e.t, "gate")
        elif e.what == "VEHICLE_EXIT" and s["phase"] == "parked":
            departed = s["drive_start"] if s["drive_start"] is not None else e.t
            self._close(s, "parked", closed_at=e.t, departed_at=departed, source="gate")

    # --- transitions -----------------------------------------------------------------------------
    def _start(self, e: SessionEvent) -> None:
        s = dict(_NEW_SESSION, id=session_id(self.user_id, e.zone_id, e.t), zone=e.zone_id, entry=e.t,
                 n_geofence=1)
        if self.last_activity is not None and self.last_activity[1] == "IN_VEHICLE":
            s["start"], s["phase"] = e.t, "searching"
        self.open = s

    def _park(self, s: dict[str, Any], parked_at: int, confirmed_at: int, how: str) -> None:
        s.update(phase="parked", parked_at=parked_at, confirmed_at=confirmed_at, confirmation=how,
                 run_start=None, run_flap=False)
        if s["exit_at"] is not None:  # parked inside the zone: the pending EXIT was noise
            s["exit_at"] = None
            s["ignored_exits"] += 1

    def _leave(self, s: dict[str, Any], exit_at: int, closed_at: int, source: str) -> None:
        if s["phase"] == "parked":
            departed = s["drive_start"] if s["drive_start"] is not None and s["drive_start"] <= exit_at else exit_at
            self._close(s, "parked", closed_at=closed_at, departed_at=departed,
                        source="activity" if departed != exit_at else source)
        elif s["phase"] == "searching":
            self._close(s, "abandoned", closed_at=closed_at, left_at=exit_at)
        else:
            self._close(s, "no_search", closed_at=closed_at)

    def _close(self, s: dict[str, Any], outcome: str, closed_at: int, departed_at: int | None = None,
               source: str | None = None, left_at: int | None = None) -> None:
        self._closed.append(session_row(self.user_id, s, outcome, closed_at, departed_at, source, left_at))
        self.open = None

    def _inside(self, zone_id: int, e: SessionEvent) -> bool:
        zone = self.zones.get(zone_id)
        if zone is None or math.isnan(e.latitude):
            return zone is None  # no geometry to check against: trust the reading
        limit = zone.radius_m + self.rules.geofence_tolerance_m
        return _distance_m(zone.latitude, zone.longitude, e.latitude, e.longitude) <= limit


def session_row(user_id: int, s: dict[str, Any], outcome: str | None, closed_at: int | None,
                departed_at: int | None = None, source: str | None = None, left_at: int | None = None
                ) -> dict[str, Any]:
    """A session as an output row (times in epoch ms); `outcome` None for a session still open."""
    start, parked_at = s["start"], s["parked_at"]
    if outcome == "abandoned":
        end = left_at
    elif parked_at is not None:
        end = parked_at
    else:
        end = None
    circling = (end - start) / 1000 if start is not None and end is not None and outcome != "no_search" else None
    return {
        "session_id": s["id"], "user_id": user_id, "zone_id": s["zone"], "phase": s["phase"],
        "zone_entry_ms": s["entry"], "circling_start_ms": start if outcome != "no_search" else None,
        "parked_ms": parked_at, "confirmed_ms": s["confirmed_at"], "departed_ms": departed_at,
        "closed_ms": closed_at, "circling_seconds": circling,
        "parked_seconds": (departed_at - parked_at) / 1000 if departed_at is not None and parked_at is not None
        else None,
        "outcome": outcome, "circling_is_estimate": outcome == "abandoned", "confirmation": s["confirmation"],
        "departure_source": source if outcome == "parked" else None,
        "activity_events": s["n_activity"], "geofence_events": s["n_geofence"], "gate_events": s["n_gate"],
        "ignored_exits": s["ignored_exits"], "ignored_flaps": s["ignored_flaps"],
    }
