"""The circling rules on hand-made event sequences, and as a property over a simulated city."""

from __future__ import annotations

import random

import pytest

from parkpal_lakehouse.config import CirclingRules
from parkpal_lakehouse.contracts.reference import load_vehicles, load_zones
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.sessions.rules import SessionEvent, UserTracker, ZoneGeometry, session_id, session_row
from parkpal_lakehouse.sessions.state import restore_tracker, tracker_row
from parkpal_lakehouse.simulator.run import generate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from tests.support.session_events import events_by_user, geometry

RULES = CirclingRules()
ZONE = 7
ZONES = {ZONE: ZoneGeometry(14.55, 121.02, 100.0)}
IN, FAR = (14.55, 121.02), (14.56, 121.03)  # the zone's centre; ~1.5 km away
T0 = 1_700_000_000_000
S = 1000  # one second in ms


def act(t: float, kind: str, conf: int = 95, pos=IN) -> SessionEvent:
    return SessionEvent(T0 + int(t * S), "activity", f"a{t}", kind, conf, 0, *pos)


def geo(t: float, transition: str, zone: int = ZONE) -> SessionEvent:
    return SessionEvent(T0 + int(t * S), "geofence", f"g{t}", transition, 0, zone, *IN)


def gate(t: float, event_type: str) -> SessionEvent:
    return SessionEvent(T0 + int(t * S), "gate", f"x{t}", event_type, 0, ZONE)


def run(events: list[SessionEvent], until: float = 10_000) -> tuple[list[dict], UserTracker]:
    tracker = UserTracker(42, RULES, ZONES)
    tracker.accept(events)
    return tracker.process_until(T0 + int(until * S)), tracker


def driving_entry() -> list[SessionEvent]:
    return [act(-25, "IN_VEHICLE"), act(-12, "IN_VEHICLE"), geo(0, "ENTER"), act(10, "IN_VEHICLE"),
            act(20, "IN_VEHICLE")]


def still_run(start: float, n: int = 5, step: float = 10, pos=IN) -> list[SessionEvent]:
    return [act(start + i * step, "STILL", 90, pos) for i in range(n)]


def departure(at: float) -> list[SessionEvent]:
    return [act(at + 10 * k, "IN_VEHICLE") for k in range(4)]


def test_parked_at_the_start_of_a_30_second_still_run_confirmed_by_its_reading():
    closed, _ = run(driving_entry() + still_run(70) + departure(900))
    (s,) = closed
    assert (s["outcome"], s["confirmation"]) == ("parked", "activity")
    assert s["circling_start_ms"] == s["zone_entry_ms"] == T0
    assert s["parked_ms"] == T0 + 70 * S and s["confirmed_ms"] == T0 + 100 * S
    assert s["circling_seconds"] == 70.0
    assert (s["departed_ms"], s["departure_source"], s["parked_seconds"]) == (T0 + 900 * S, "activity", 830.0)
    assert s["session_id"] == session_id(42, ZONE, T0)


def test_a_single_low_confidence_flap_does_not_break_the_still_run_but_two_do():
    one_flap = driving_entry() + still_run(70, 2) + [act(85, "IN_VEHICLE", 40)] + still_run(90, 3)
    (s,), _ = run(one_flap + departure(900))
    assert s["parked_ms"] == T0 + 70 * S and s["ignored_flaps"] == 1
    two_flaps = driving_entry() + still_run(70, 2) + [act(82, "TILTING", 40), act(86, "ON_FOOT", 30)] \
        + still_run(90, 4)
    (s,), _ = run(two_flaps + departure(900))
    assert s["parked_ms"] == T0 + 90 * S


def test_a_confident_reading_of_another_kind_breaks_the_run():
    events = driving_entry() + still_run(70, 2) + [act(85, "IN_VEHICLE", 90)] + still_run(95, 4)
    (s,), _ = run(events + departure(900))
    assert s["parked_ms"] == T0 + 95 * S


def test_still_readings_outside_the_zone_do_not_park():
    events = driving_entry() + still_run(70, 6, pos=FAR)
    closed, tracker = run(events, until=200)
    assert closed == [] and tracker.open["phase"] == "searching"


def test_gate_entry_parks_at_once_and_wins_over_an_unconfirmed_still_run():
    events = driving_entry() + still_run(40, 2) + [gate(55, "VEHICLE_ENTRY")] + still_run(70) + [
        gate(1000, "VEHICLE_EXIT")]
    (s,), _ = run(events)
    assert (s["parked_ms"], s["confirmed_ms"], s["confirmation"]) == (T0 + 55 * S, T0 + 55 * S, "gate")
    assert (s["departed_ms"], s["departure_source"]) == (T0 + 1000 * S, "gate")


def test_exit_before_parking_is_abandoned_with_an_estimated_circling_time():
    events = driving_entry() + [act(30, "IN_VEHICLE"), geo(95, "EXIT"), act(105, "IN_VEHICLE", pos=FAR)]
    (s,), _ = run(events)
    assert s["outcome"] == "abandoned" and s["circling_is_estimate"]
    assert s["circling_seconds"] == 95.0 and s["parked_ms"] is None
    assert s["closed_ms"] == T0 + (95 + RULES.jitter_reentry_seconds) * S  # known once the jitter window passed


def test_gps_jitter_exit_and_reentry_within_the_window_is_ignored():
    events = driving_entry() + still_run(70) + [geo(400, "EXIT"), geo(420, "ENTER")] + departure(900)
    (s,), _ = run(events)
    assert s["outcome"] == "parked" and s["ignored_exits"] == 1 and s["departed_ms"] == T0 + 900 * S
    late_reentry = driving_entry() + still_run(70) + [geo(400, "EXIT"), geo(400 + RULES.jitter_reentry_seconds + 5,
                                                                              "ENTER")]
    first, *_ = run(late_reentry)[0]
    assert (first["departed_ms"], first["departure_source"]) == (T0 + 400 * S, "geofence")


def test_an_exit_decides_nothing_until_the_jitter_window_has_passed():
    events = driving_entry() + [geo(95, "EXIT")]
    closed, tracker = run(events, until=95 + RULES.jitter_reentry_seconds)
    assert closed == [] and tracker.open["exit_at"] == T0 + 95 * S
    assert [s["outcome"] for s in tracker.process_until(T0 + (96 + RULES.jitter_reentry_seconds) * S)] == [
        "abandoned"]


def test_silence_times_a_search_out_and_the_user_is_forgotten_once_the_activity_hold_passes():
    events = driving_entry()
    closed, tracker = run(events, until=20 + RULES.silence_timeout_seconds)
    assert closed == [] and tracker.open is not None
    (s,) = tracker.process_until(T0 + (21 + RULES.silence_timeout_seconds) * S)
    assert s["outcome"] == "timed_out" and s["circling_seconds"] is None
    assert not tracker.evictable  # still driving, as far as anyone knows
    assert tracker.process_until(T0 + (21 + RULES.activity_hold_seconds) * S) == [] and tracker.evictable


# --- phones that report transitions only (docs/sessionization.md, "What phones send") -------------
def transition_entry(before: float = 40 * 60) -> list[SessionEvent]:
    """IN_VEHICLE reported once when the trip began, far away; then the ENTER; nothing while circling."""
    return [act(-before, "IN_VEHICLE", pos=FAR), geo(0, "ENTER")]


def test_the_activity_reported_when_the_trip_began_holds_at_the_entry():
    (s,), _ = run(transition_entry() + [act(70, "STILL", 90), act(3 * 3600, "IN_VEHICLE")], until=4 * 3600)
    assert s["circling_start_ms"] == T0 and s["circling_seconds"] == 70.0
    stale = transition_entry(before=RULES.activity_hold_seconds + 60) + [act(70, "STILL", 90)]
    closed, tracker = run(stale, until=200)
    assert closed == [] and tracker.open["phase"] == "entered"  # a driving report that old is not trusted


def test_a_single_still_transition_parks_once_nothing_contradicts_it_for_30_seconds():
    closed, tracker = run(transition_entry() + [act(70, "STILL", 90)], until=100)
    assert closed == [] and tracker.open["phase"] == "searching"  # the deadline has not passed yet
    closed, tracker = run(transition_entry() + [act(70, "STILL", 90)], until=101)
    assert tracker.open["phase"] == "parked" and tracker.open["parked_at"] == T0 + 70 * S
    assert tracker.open["confirmed_at"] == T0 + 100 * S


def test_a_red_light_is_never_parking():
    stop = [act(40, "STILL", 95), act(40 + 19, "IN_VEHICLE", 90)]  # confident STILL for 19 s while driving
    closed, tracker = run(transition_entry() + stop + [act(200, "STILL", 90)], until=400)
    assert tracker.open["parked_at"] == T0 + 200 * S


def test_a_low_confidence_still_run_before_the_real_one_is_never_parked_at():
    unsure = [act(40, "STILL", 60), act(55, "STILL", 65), act(75, "STILL", 70)]
    closed, tracker = run(transition_entry() + unsure + [act(120, "STILL", 90)], until=400)
    assert tracker.open["parked_at"] == T0 + 120 * S


def test_still_then_walking_away_inside_the_zone_parks_at_the_still_start():
    walk_away = [act(70, "STILL", 90), act(95, "WALKING", 85)]  # out of the car after 25 s
    closed, tracker = run(transition_entry() + walk_away, until=96)
    assert tracker.open["phase"] == "parked"
    assert (tracker.open["parked_at"], tracker.open["confirmed_at"]) == (T0 + 70 * S, T0 + 95 * S)
    straight_out = [act(80, "ON_FOOT", 90)]  # IN_VEHICLE -> on foot with no STILL between
    closed, tracker = run(transition_entry() + straight_out, until=81)
    assert tracker.open["parked_at"] == T0 + 80 * S


def test_walking_outside_the_zone_or_unsure_walking_does_not_park_by_itself():
    far = [act(70, "STILL", 90), act(80, "WALKING", 90, pos=FAR)]
    closed, tracker = run(transition_entry() + far, until=200)
    assert tracker.open["phase"] == "searching" and tracker.open["run_start"] is None
    unsure = [act(70, "STILL", 90), act(80, "WALKING", 75), act(85, "IN_VEHICLE")]
    closed, tracker = run(transition_entry() + unsure, until=200)
    assert tracker.open["phase"] == "searching"
    # unsure walking does not end the STILL run either: it still parks once the run has lasted 30 s
    closed, tracker = run(transition_entry() + [act(70, "STILL", 90), act(80, "WALKING", 75)], until=101)
    assert tracker.open["parked_at"] == T0 + 70 * S


def test_a_parked_phone_silent_for_hours_departs_on_the_return_trip():
    parked = [act(70, "STILL", 90), act(95, "WALKING", 85)]
    back = 6 * 3600
    return_trip = [act(back - 90, "WALKING", 90), act(back, "IN_VEHICLE", 90), geo(back + 45, "EXIT")]
    closed, tracker = run(transition_entry() + parked, until=back - 100)
    assert closed == [] and tracker.open["phase"] == "parked"  # silence does not close a parked search
    (s,), tracker = run(transition_entry() + parked + return_trip, until=back + 300)
    assert (s["outcome"], s["departed_ms"], s["departure_source"]) == ("parked", T0 + back * S, "activity")
    assert s["closed_ms"] == T0 + (back + RULES.departure_min_seconds) * S
    assert s["parked_seconds"] == back - 70.0


def test_walking_out_of_the_zone_and_back_leaves_the_car_parked():
    parked = [act(70, "STILL", 90), act(95, "WALKING", 85), geo(300, "EXIT"), geo(400, "ENTER", zone=9)]
    back = [geo(7200, "ENTER"), act(7250, "IN_VEHICLE"), geo(7300, "EXIT")]
    (s,), tracker = run(transition_entry() + parked + back, until=8000)
    assert (s["departed_ms"], s["departure_source"]) == (T0 + 7250 * S, "activity")
    assert s["ignored_exits"] == 1 and tracker.open is None  # the walk through zone 9 started nothing


def test_an_exit_while_not_on_foot_is_a_departure_even_when_the_drive_was_not_reported():
    events = transition_entry() + [act(70, "STILL", 90), geo(5000, "EXIT")]
    (s,), _ = run(events, until=6000)
    assert (s["departed_ms"], s["departure_source"]) == (T0 + 5000 * S, "geofence")


def test_a_queue_at_the_exit_does_not_move_the_departure_but_a_stop_long_enough_to_park_does():
    queue = transition_entry() + [act(70, "STILL", 90), act(3000, "IN_VEHICLE"), act(3010, "STILL", 90),
                                  act(3035, "IN_VEHICLE")]  # stopped 25 s in the exit queue
    (s,), _ = run(queue, until=4000)
    assert (s["departed_ms"], s["closed_ms"]) == (T0 + 3000 * S, T0 + 3035 * S)
    moved = transition_entry() + [act(70, "STILL", 90), act(3000, "IN_VEHICLE"), act(3010, "STILL", 90),
                                  act(3050, "IN_VEHICLE")]  # 40 s: re-parked, then left
    (s,), _ = run(moved, until=4000)
    assert s["departed_ms"] == T0 + 3050 * S
    walked = transition_entry() + [act(70, "STILL", 90), act(3000, "IN_VEHICLE"), act(3005, "WALKING", 90),
                                   act(5000, "IN_VEHICLE")]  # got out again: not the departure
    (s,), _ = run(walked, until=6000)
    assert s["departed_ms"] == T0 + 5000 * S


def test_a_parked_search_without_departure_evidence_closes_unknown_at_the_longest_stay():
    events = transition_entry() + [act(70, "STILL", 90)]
    closed, tracker = run(events, until=70 + RULES.max_stay_seconds)
    assert closed == [] and tracker.open["phase"] == "parked"
    (s,) = tracker.process_until(T0 + (71 + RULES.max_stay_seconds) * S)
    assert (s["outcome"], s["departure_source"], s["departed_ms"], s["parked_seconds"]) == (
        "parked", "unknown", None, None)
    assert s["closed_ms"] == T0 + (70 + RULES.max_stay_seconds) * S


def test_walking_into_a_zone_is_no_search_and_driving_after_entry_starts_circling_then():
    walking = [act(-25, "WALKING"), act(-12, "WALKING"), geo(0, "ENTER"), act(15, "WALKING"), geo(120, "EXIT")]
    (s,), _ = run(walking)
    assert s["outcome"] == "no_search" and s["circling_start_ms"] is None and s["circling_seconds"] is None
    on_foot_then_drive = [act(-25, "WALKING"), geo(0, "ENTER"), act(30, "IN_VEHICLE")] + still_run(60)
    closed, tracker = run(on_foot_then_drive, until=200)
    assert tracker.open["start"] == T0 + 30 * S and tracker.open["parked_at"] == T0 + 60 * S


def test_driving_off_after_walking_out_of_a_zone_is_no_search_there():
    walk_through = [act(-25, "WALKING"), geo(0, "ENTER"), geo(120, "EXIT"), act(121, "IN_VEHICLE")]
    (s,), _ = run(walk_through)
    assert s["outcome"] == "no_search" and s["circling_seconds"] is None


def test_entering_another_zone_closes_the_open_search_there():
    events = driving_entry() + [geo(100, "ENTER", zone=8)]
    closed, tracker = run(events, until=150)
    assert [s["outcome"] for s in closed] == ["abandoned"] and tracker.open["zone"] == 8


def test_rules_are_validated():
    with pytest.raises(ConfigError, match="flap_max_confidence"):
        CirclingRules(flap_max_confidence=90)
    with pytest.raises(ConfigError, match="silence_timeout_seconds"):
        CirclingRules(silence_timeout_seconds=30)
    with pytest.raises(ConfigError, match="max_stay_seconds"):
        CirclingRules(max_stay_seconds=600)


def _one_shot(events, user, zones, end):
    tracker = UserTracker(user, RULES, zones)
    tracker.accept(list(events))
    rows = tracker.process_until(end)
    return rows + ([session_row(user, tracker.open, None, None)] if tracker.open else [])


def _streamed(events, user, zones, end, rng, watermark_ms):
    """Events arrive in random order within the watermark, in random micro-batches; state goes through
    the typed state rows between batches, as in the streaming processor."""
    arrivals = sorted(events, key=lambda e: e.t + rng.uniform(0, watermark_ms * 0.9))
    rows, state, newest, i = [], None, None, 0
    while i < len(arrivals):
        n = rng.randint(1, 40)
        chunk, i = arrivals[i:i + n], i + n
        tracker = restore_tracker(user, RULES, zones, state)[0]
        assert tracker.accept(chunk) == []  # nothing late: all arrived within the watermark
        newest = max([newest or 0] + [e.t for e in chunk])
        rows += tracker.process_until(newest - watermark_ms)
        state = tracker_row(tracker, None)
    tracker = restore_tracker(user, RULES, zones, state)[0]
    rows += tracker.process_until(end)
    return rows + ([session_row(user, tracker.open, None, None)] if tracker.open else [])


def test_any_micro_batch_split_and_arrival_order_within_the_watermark_gives_the_same_sessions(tmp_path):
    city = generate(SimulationSettings(seed=11, zones=6, users=150), tmp_path)
    plates = {v.licensePlate: v.userId for v in load_vehicles(tmp_path / "reference" / "vehicles.csv")}
    zones = geometry(city, load_zones(tmp_path / "reference" / "zones.csv"))
    per_user = events_by_user(city, plates)
    end = max(e.t for evs in per_user.values() for e in evs) + 1
    rng = random.Random(5)
    compared = 0
    for user, events in per_user.items():
        expected = _one_shot(events, user, zones, end)
        for _ in range(3):
            assert _streamed(events, user, zones, end, rng, 60_000) == expected, user
        compared += len(expected)
    assert compared > 100
