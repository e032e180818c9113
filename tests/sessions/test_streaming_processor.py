"""The streaming processor itself (users sharing a state bucket, one timer per bucket), without Spark:
`SparkSide` drives it with pyspark's own `GroupState` as `applyInPandasWithState` would, bucket by bucket."""

from __future__ import annotations

import json
import random
from collections import defaultdict

import pandas as pd
from pyspark.sql import Row
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout
from pyspark.sql.types import StringType, StructField, StructType

from parkpal_lakehouse.config import CirclingRules, SessionSettings
from parkpal_lakehouse.contracts.reference import load_vehicles, load_zones
from parkpal_lakehouse.sessions.rules import SessionEvent, UserTracker, session_row
from parkpal_lakehouse.sessions.state import TIMER
from parkpal_lakehouse.sessions.streaming import CirclingProcessor, bucket_timer, state_name, step_bucket
from parkpal_lakehouse.simulator.run import generate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from tests.sessions.test_rules import FAR, ZONES, act, departure, driving_entry, still_run
from tests.support.session_events import events_by_user, geometry

RULES = CirclingRules()
SETTINGS = SessionSettings(state_buckets=4)
BUCKET = 0


class SparkSide:
    """What Spark does around `applyInPandasWithState` with event-time timeouts, for one processor: each
    bucket's state value and timeout kept between calls; in a micro-batch, first a call per bucket with
    rows, then one per other bucket whose timeout the watermark is strictly past (`FlatMapGroupsWithStateExec`);
    each call gets a `GroupState` and Spark keeps what the call left in it (its `json()`, as the JVM reads it)."""

    def __init__(self, zones) -> None:
        self.processor = CirclingProcessor(RULES, zones, SETTINGS)
        self.schema = StructType([StructField(state_name(SETTINGS), StringType())])
        self.values: dict[int, tuple] = {}
        self.timeouts: dict[int, int] = {}

    def batch(self, watermark: int, frames: dict[int, pd.DataFrame]) -> list[pd.DataFrame]:
        out = [self._call(bucket, [frame], watermark, False) for bucket, frame in frames.items()]
        due = [b for b, t in self.timeouts.items() if t < watermark and b not in frames]
        return out + [self._call(bucket, [], watermark, True) for bucket in due]

    def _call(self, bucket: int, frames: list[pd.DataFrame], watermark: int, timed_out: bool) -> pd.DataFrame:
        value = self.values.get(bucket)
        state = GroupState(Row(*value) if value is not None else None, 0, watermark,
                           GroupStateTimeout.EventTimeTimeout, timed_out, True, value is not None, False, False,
                           GroupState.NO_TIMESTAMP, b"", self.schema)
        out = list(self.processor((bucket,), iter(frames), state))
        left = json.loads(state.json())
        self.values.pop(bucket, None)
        self.timeouts.pop(bucket, None)
        if left["defined"]:
            self.values[bucket] = state.get
            if left["timeoutTimestamp"] != GroupState.NO_TIMESTAMP:
                self.timeouts[bucket] = left["timeoutTimestamp"]
        return pd.concat(out) if out else pd.DataFrame()

    def state_rows(self, bucket: int) -> list[list]:
        """The bucket's users' `BUCKET_STATE_SCHEMA` rows, as stored."""
        return json.loads(self.values[bucket][0]) if bucket in self.values else []


def _frame(events: list[tuple[int, SessionEvent]]) -> pd.DataFrame:
    """Input rows as the stream gives them (the columns of `inputs.session_events` the processor reads)."""
    return pd.DataFrame([{"user_id": user, "t_ms": e.t, "kind": e.kind, "event_key": e.key, "what": e.what,
                          "confidence": e.confidence, "zone_id": e.zone_id, "latitude": e.latitude,
                          "longitude": e.longitude} for user, e in events])


def _spark_watermark(rules_watermark_ms: int) -> int:
    """Spark's watermark for a rules watermark: the stream gives Spark `late_horizon_hours` more delay."""
    return rules_watermark_ms - SETTINGS.late_horizon_ms


def _rows(out: list[pd.DataFrame]) -> list[dict]:
    return [row for frame in out if not frame.empty for row in frame.to_dict("records")]


def test_a_call_for_one_user_leaves_the_other_users_of_its_bucket_as_they_were():
    spark_side = SparkSide(ZONES)
    parked = driving_entry() + still_run(40)
    spark_side.batch(0, {BUCKET: _frame([(1, e) for e in parked])})
    (opened,) = _rows(spark_side.batch(watermark := _spark_watermark(parked[-1].t + 1), {}))  # timed out: applied
    assert (opened["row_kind"], opened["user_id"], opened["phase"]) == ("open", 1, "parked")
    (user_1,) = spark_side.state_rows(BUCKET)  # parked, silent
    assert user_1[0] == 1 and user_1[TIMER] is not None and user_1[-1] is None

    later = [act(600 + 10 * i, "WALKING") for i in range(3)]
    out = spark_side.batch(watermark, {BUCKET: _frame([(2, e) for e in later])})
    rows = {row[0]: row for row in spark_side.state_rows(BUCKET)}
    assert rows[1] == user_1  # not due: read and written back untouched
    assert rows[2][-1] is not None  # user 2's events wait for the watermark
    assert _rows(out) == []  # nothing applied, nothing to emit
    # One timeout for the bucket: the earliest of its users' wake-ups, a millisecond early (Spark times a
    # bucket out once the watermark is strictly past it; a user is due once the watermark reaches its timer).
    assert spark_side.timeouts == {BUCKET: bucket_timer(rows.values()) - 1}


def test_a_bucket_timer_applies_only_the_users_that_are_due():
    spark_side = SparkSide(ZONES)
    first = driving_entry() + still_run(40)
    walking = act(5_000, "WALKING")
    spark_side.batch(0, {BUCKET: _frame([(1, e) for e in first] + [(2, walking)])})
    before = {row[0]: row for row in spark_side.state_rows(BUCKET)}
    # A new query's first batch, before any watermark: each user applied up to its own newest event minus the
    # watermark delay; what is newer waits.
    assert before[1][1] == first[-1].t - SETTINGS.watermark_seconds * 1000 and before[1][-1] is not None
    assert before[2][1] == walking.t - SETTINGS.watermark_seconds * 1000 and before[2][-1] is not None
    timer = spark_side.timeouts[BUCKET] + 1  # the bucket's timer
    assert spark_side.batch(timer - 1, {}) == []  # the watermark at the timeout, not past it: no call
    (opened,) = _rows(spark_side.batch(_spark_watermark(first[-1].t + 1), {}))
    assert (opened["row_kind"], opened["user_id"], opened["phase"]) == ("open", 1, "parked")
    rows = {row[0]: row for row in spark_side.state_rows(BUCKET)}
    assert rows[1][-1] is None  # user 1: due, all applied
    assert rows[2] == before[2]  # user 2: not due, its row as it was, its event still waiting


def test_applying_a_first_batch_before_any_watermark_ends_with_the_sessions_of_buffering_it():
    """`step_bucket(apply_unwatermarked_ms=...)` (measured by benchmarks/sessionization_operators.py): before
    any watermark, each user's events up to its newest minus the watermark delay are applied at once, the
    rest wait; once the watermark passes them, the sessions are those of only buffering the first batch."""
    parked = driving_entry() + still_run(40) + departure(3_000) + still_run(3_300, pos=FAR)
    events = {1: parked, 2: [act(3_320, "WALKING")], 3: driving_entry()}
    delay = SETTINGS.watermark_seconds * 1000
    late_horizon = SETTINGS.late_horizon_ms
    applied, applied_out = step_bucket([], events, 0, RULES, ZONES, late_horizon, apply_unwatermarked_ms=delay)
    buffered, buffered_out = step_bucket([], events, 0, RULES, ZONES, late_horizon)
    assert [r for r in buffered_out if r["row_kind"] == "closed"] == [] and buffered[0][1] is None  # waits
    rows = {row[0]: row for row in applied}
    assert rows[1][1] == parked[-1].t - delay  # user 1: applied up to its newest event minus the delay
    assert rows[2][1] == events[2][0].t - delay  # user 2: nothing before that, the reading waits
    assert rows[2][-1] is not None and rows[3][-1] is not None  # users 2 and 3: nothing old enough yet
    (first_closed,) = [r for r in applied_out if r["row_kind"] == "closed"]  # the first stay, departed
    assert first_closed["outcome"] == "parked" and first_closed["user_id"] == 1 and first_closed["departed_ms"]
    end = _spark_watermark(parked[-1].t + 10 * 60 * 1000)
    _, applied_end = step_bucket(applied, {}, end, RULES, ZONES, late_horizon)
    _, buffered_end = step_bucket(buffered, {}, end, RULES, ZONES, late_horizon)

    def closed(out: list[dict]) -> dict[str, dict]:
        return {r["session_id"]: {k: v for k, v in r.items() if k != "state_ms"} for r in out
                if r["row_kind"] == "closed"}

    assert closed(applied_out + applied_end) == closed(buffered_out + buffered_end)
    assert {r["user_id"] for r in closed(buffered_out + buffered_end).values()} == {1, 3}


def _one_shot(events: list[SessionEvent], user: int, zones, end: int) -> tuple[list[dict], dict | None]:
    tracker = UserTracker(user, RULES, zones)
    tracker.accept(list(events))
    closed = tracker.process_until(end)
    return closed, session_row(user, tracker.open, None, None) if tracker.open else None


def test_users_sharing_buckets_get_the_sessions_of_one_pass_over_their_events(tmp_path):
    """A simulated city's events arrive in random order within the watermark, in random micro-batches, all
    users in 4 buckets; every closed session and every user's last open search equal one pass per user."""
    city = generate(SimulationSettings(seed=11, zones=6, users=150), tmp_path)
    plates = {v.licensePlate: v.userId for v in load_vehicles(tmp_path / "reference" / "vehicles.csv")}
    zones = geometry(city, load_zones(tmp_path / "reference" / "zones.csv"))
    per_user = events_by_user(city, plates)
    end = max(e.t for evs in per_user.values() for e in evs) + 1
    watermark_ms = SETTINGS.watermark_seconds * 1000
    rng = random.Random(7)
    arrivals = sorted(((u, e) for u, evs in per_user.items() for e in evs),
                      key=lambda ue: ue[1].t + rng.uniform(0, 0.9 * watermark_ms))
    spark_side = SparkSide(zones)
    out, newest, watermark, i = [], None, 0, 0
    while i < len(arrivals):
        n = rng.randint(5, 60)
        chunk, i = arrivals[i:i + n], i + n
        if newest is not None:
            watermark = max(watermark, _spark_watermark(newest - watermark_ms))  # from the previous batches
        by_bucket = defaultdict(list)
        for user, event in chunk:
            by_bucket[user % SETTINGS.state_buckets].append((user, event))
        out += spark_side.batch(watermark, {bucket: _frame(events) for bucket, events in by_bucket.items()})
        newest = max([newest or 0] + [e.t for _, e in chunk])
    out += spark_side.batch(_spark_watermark(end), {})

    rows = _rows(out)
    assert [r for r in rows if r["row_kind"] == "late"] == []  # all arrived within the watermark
    streamed = {r["session_id"]: r for r in rows if r["row_kind"] == "closed"}
    last_open: dict[int, dict] = {}
    for r in rows:
        if r["row_kind"] == "open":
            last_open[r["user_id"]] = r
    compared = 0
    for user, events in per_user.items():
        closed, opened = _one_shot(events, user, zones, end)
        for expected in closed:
            got = streamed.pop(expected["session_id"])
            assert {k: got[k] for k in expected} == expected, user
            compared += 1
        got_open = last_open.get(user)
        if opened is None:  # its last open search (if any) closed since
            assert got_open is None or got_open["session_id"] in {c["session_id"] for c in closed}, user
        else:
            assert {k: got_open[k] for k in opened} == opened, user
    assert streamed == {}  # no session the one pass does not have
    assert compared > 50 and len(out) > 50
