"""Streaming sessionization: `applyInPandasWithState` keyed by bucket of users, event-time timeouts,
exactly once.

Keyed by bucket, not by user: a Python call of a stateful operator costs about as much as the rules
for a user's whole micro-batch, so one call per user and micro-batch was most of the stream's cost
(docs/sessionization.md, "Speed"). `SessionSettings.state_buckets` buckets (a hash of the user id) each
keep their users' rows in one state value, read and written once per call; the rules still run per
user, in event-time order, on exactly what a per-user call would have given them (`step_bucket`).

Why `applyInPandasWithState` rather than `transformWithStateInPandas` (which carried the stream until
issue 21's thirty-fifth part): PySpark slices each bucket's rows straight from Arrow for it, as for the
batch twin's `applyInPandas`, where it hands `transformWithStateInPandas` its rows one by one and plans
its query for a second longer; with the same work per bucket the stream ran ~1.3x faster
(`benchmarks/sessionization_operators.py`, docs/sessionization.md). What the newer API offers and this one
lacks, named typed state variables and several timers, the buckets do not use: a bucket's state is one
JSON string (PySpark 4.2 cannot read an array-typed state schema) and its timer one event-time timeout.

Time: Spark's watermark is the newest event time minus `SessionSettings.spark_delay`
(`watermark_seconds + late_horizon_hours`); the processor works `late_horizon_hours` ahead of it, so
for the rules the watermark is newest-minus-`watermark_seconds`. Buffered events are applied in
event-time order once that passes them; timers are set `late_horizon_hours` early to match.
An event older than what its user's state has applied is emitted as a `late` row (it never reaches
the rules); Spark drops none (`circling_rows`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupState, GroupStateTimeout

from parkpal_lakehouse.config import CirclingRules, LakehouseConfig, SessionSettings
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.gold.status import write_zone_status
from parkpal_lakehouse.io.checkpoint import batch_watermark_ms
from parkpal_lakehouse.io.delta import read_stream, read_table
from parkpal_lakehouse.io.writers import append_once, side_by_side, with_trigger
from parkpal_lakehouse.names import LATE_EVENTS, VEHICLES, silver_table
from parkpal_lakehouse.sessions.batch import (
    BUCKET,
    SESSION_ROW_DDL,
    events_by_user,
    rows_frame,
    tracker_rows,
    user_bucket,
)
from parkpal_lakehouse.sessions.inputs import RULE_COLUMNS, session_events, zone_geometry
from parkpal_lakehouse.sessions.rules import SessionEvent, ZoneGeometry
from parkpal_lakehouse.sessions.state import TIMER, restore_tracker, tracker_row
from parkpal_lakehouse.sessions.store import closed_sessions, late_events, merge_closed_sessions, refresh_open_sessions
from parkpal_lakehouse.silver.reference import zones_reference

QUERY_NAME = "silver_parking_sessions"
OPERATOR = "applyInPandasWithState"  # as Spark's state-metadata source names the stream's stateful operator
# Spark's metadata key marking a column as an event-time watermark's (`EventTimeWatermark.delayKey`).
_WATERMARK_DELAY_KEY = "spark.watermarkDelayMs"
_WATERMARK_CARRIER = "watermark_carrier"


def state_name(settings: SessionSettings) -> str:
    """The bucket's state column (read it with `format("statestore")`: `value.groupState.<name>`). It names
    the bucket count: a user's bucket depends on it, so a checkpoint can only resume with the count it was
    written with (`check_state_layout`)."""
    return f"trackers_{settings.state_buckets}_buckets"


class CirclingProcessor:
    """Per bucket of users (`SessionSettings.state_buckets`), called by `applyInPandasWithState`: buffer each
    user's events until the watermark passes them (in a new query's first micro-batch, before any watermark:
    until the user's own newest event minus `watermark_seconds` does), apply the circling rules in event-time
    order, emit each session once when it closes, an `open` row while one runs, `late` rows for events that
    came after the state moved past them.

    State (`sessions/state.py`): the bucket's users still worth keeping (with the events not yet applied),
    their `BUCKET_STATE_SCHEMA` rows as one JSON array, read and written once per call; a user is dropped
    from it when forgotten. One event-time timeout per bucket: the earliest of its users' wake-up times
    (Spark then calls the bucket without rows). A call works only on the users with new events or with a
    wake-up time the watermark has passed; the others' rows are written back as they were read."""

    def __init__(self, rules: CirclingRules, zones: dict[int, ZoneGeometry], settings: SessionSettings,
                 buffer_first_batch: bool = False):
        self.rules, self.zones, self.late_horizon_ms = rules, zones, settings.late_horizon_ms
        # A new query's first micro-batch (no watermark yet): each user's events applied up to its newest minus
        # `watermark_seconds`, or (`buffer_first_batch`, as before issue 21's thirty-fifth part) all buffered.
        self.apply_unwatermarked_ms = None if buffer_first_batch else settings.watermark_seconds * 1000

    def __call__(self, key: tuple, frames: Iterator[pd.DataFrame], state: GroupState) -> Iterator[pd.DataFrame]:
        watermark = state.getCurrentWatermarkMs()
        kept, out = self.step(read_bucket(state), events_by_user(frames), watermark)
        write_bucket(state, kept, watermark)
        if out:
            yield rows_frame(out)

    def step(self, rows: list, events: dict[int, list[SessionEvent]], watermark: int) -> tuple[list, list[dict]]:
        """`step_bucket` with this processor's rules, zones and settings."""
        return step_bucket(rows, events, watermark, self.rules, self.zones, self.late_horizon_ms,
                           self.apply_unwatermarked_ms)


def read_bucket(state: GroupState) -> list:
    """A bucket's users' state rows (`BUCKET_STATE_SCHEMA`), as `write_bucket` stored them."""
    return json.loads(state.get[0]) if state.exists else []


def write_bucket(state: GroupState, kept: list, watermark: int) -> None:
    """Store a bucket's kept rows (none: remove its state) and set its timeout from their earliest timer."""
    if not kept:
        state.remove()
        return
    state.update((json.dumps(kept, separators=(",", ":")),))
    if (timer := bucket_timer(kept)) is not None:
        # Spark times a bucket out once its watermark is strictly past the timeout; the users are due once
        # it reaches their timer. Never before the watermark (Spark refuses it).
        state.setTimeoutTimestamp(max(timer - 1, watermark))


def step_bucket(rows: Iterable[tuple], events: dict[int, list[SessionEvent]], watermark_ms: int,
                rules: CirclingRules, zones: dict[int, ZoneGeometry], late_horizon_ms: int,
                apply_unwatermarked_ms: int | None = None) -> tuple[list[tuple], list[dict]]:
    """One call's work on a bucket, whatever Spark operator keeps its state: (the bucket's state rows to keep,
    `BUCKET_STATE_SCHEMA`; the output rows). `rows`: the rows read from state; `events`: the call's new events
    by user; `watermark_ms`: Spark's. Only users with new events or a timer the watermark has passed are
    restored and stepped; the others' rows are kept as they were read.

    `apply_unwatermarked_ms`: before any watermark (a new query's first micro-batch), apply each user's
    events up to its newest minus this (never past the horizon the next batch will have: the newest event
    of all minus the same delay) instead of only buffering them (None). The stream passes `watermark_seconds`:
    a new query over a backlog would otherwise hold all of it in state until its second batch."""
    horizon = rules_horizon_ms(watermark_ms, late_horizon_ms)
    users = {row[0]: row for row in rows}
    due = [user_id for user_id, row in users.items() if row[TIMER] is not None and row[TIMER] <= watermark_ms]
    out: list[dict] = []
    for user_id in {*events, *due}:
        row = users.pop(user_id, None)
        tracker = restore_tracker(user_id, rules, zones, row[1:] if row is not None else None)[0]
        open_before = dict(tracker.open) if tracker.open is not None else None
        new = events.get(user_id, [])
        late = tracker.accept(new, horizon)
        until = horizon
        if until is None and apply_unwatermarked_ms is not None and new:
            until = max(e.t for e in new) - apply_unwatermarked_ms
        closed = tracker.process_until(until) if until is not None else []
        wake = tracker.wake_at()
        if not tracker.evictable:
            wanted = None if wake is None else max(wake - late_horizon_ms, watermark_ms + 1)
            users[user_id] = (user_id, *tracker_row(tracker, wanted))
        # The open search is emitted only when it changed: the open-sessions MERGE stays small.
        out += tracker_rows(tracker, closed, late, include_open=tracker.open != open_before)
    return list(users.values()), out


def rules_horizon_ms(watermark_ms: int, late_horizon_ms: int) -> int | None:
    """How far (epoch ms) the circling rules apply events in a micro-batch that runs with Spark's watermark
    `watermark_ms`: `late_horizon_ms` past it (the newest event time seen before the batch minus
    `watermark_seconds`). None before any event (Spark's watermark is 0): the rules wait."""
    return watermark_ms + late_horizon_ms if watermark_ms > 0 else None


def bucket_timer(rows: Iterable[tuple]) -> int | None:
    """The bucket's timer: the earliest wake-up time among its users' state rows (None: nobody waits)."""
    return min((row[TIMER] for row in rows if row[TIMER] is not None), default=None)


def circling_rows(events: DataFrame, zones: dict[int, ZoneGeometry], rules: CirclingRules,
                  settings: SessionSettings, buffer_first_batch: bool = False) -> DataFrame:
    """The processor's output rows (`SESSION_ROW_DDL`) for a stream of `inputs.session_events`.

    Only the rules' columns reach the processor (`inputs.RULE_COLUMNS`), and the watermark rides on a null
    column: `applyInPandasWithState` needs a watermark column for event-time timeouts and drops every row
    older than its value, so `event_time` itself would lose the events more than `late_horizon_hours` late.
    On a null column Spark filters no row: every event, however late, reaches the processor, which applies
    it or reports it `late` (`silver.late_events`, then the repair); the watermark still advances from
    `event_time`, where `withWatermark` set it. `buffer_first_batch`: buffer a new query's first micro-batch
    whole, as before issue 21's thirty-fifth part (`benchmarks/sessionization_operators.py` measures both)."""
    carrier = F.lit(None).cast("timestamp").alias(_WATERMARK_CARRIER,
                                                  metadata={_WATERMARK_DELAY_KEY: settings.spark_delay_ms})
    return (events.withWatermark("event_time", settings.spark_delay)
            .select(user_bucket(settings.state_buckets).alias(BUCKET), carrier, *RULE_COLUMNS)
            .groupBy(BUCKET)
            .applyInPandasWithState(CirclingProcessor(rules, zones, settings, buffer_first_batch), SESSION_ROW_DDL,
                                    f"{state_name(settings)} STRING", "append", GroupStateTimeout.EventTimeTimeout))


def silver_session_events(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    """The three silver event tables as one stream of session events."""
    return session_events(
        read_stream(spark, config, silver_table(Hub.ACTIVITY)),
        read_stream(spark, config, silver_table(Hub.GEOFENCE)),
        read_stream(spark, config, silver_table(Hub.GATE)),
        read_table(spark, config, VEHICLES),
    )


def session_batch_writer(config: LakehouseConfig, name: str, checkpoint: str | None = None
                         ) -> Callable[[DataFrame, int], None]:
    """Each micro-batch: closed sessions MERGEd by id, the open-sessions view refreshed and late events
    appended with the batch's transaction id (side by side: three tables), then `gold.zone_status`
    rewritten from them as of the batch's rules horizon (`gold/status.py`); every write idempotent, so a
    replayed batch changes nothing. `checkpoint`: the query's (default: the configured one for `name`)."""
    checkpoint, late_horizon_ms = checkpoint or config.checkpoint_path(name), config.sessions.late_horizon_ms

    def write(batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        batch = batch.persist()
        try:
            kinds = {r.row_kind: r["count"] for r in batch.groupBy("row_kind").count().collect()}
            writes = []  # three tables, each write idempotent: side by side; the status reads two of them after
            if kinds.get("closed"):
                writes.append(lambda: merge_closed_sessions(spark, config, closed_sessions(batch, "stream")))
            if kinds.get("closed") or kinds.get("open"):
                writes.append(lambda: refresh_open_sessions(spark, config, batch))
            if kinds.get("late"):
                writes.append(lambda: append_once(late_events(batch), config, LATE_EVENTS, name, batch_id,
                                                  partition_by=("detected_date",)))
            side_by_side(writes)
            # The instant the processor applied the rules up to in this batch, from the watermark the query's
            # offset log gives the batch (no table read); none before any event. An offset log this code
            # cannot read: the newest event in silver instead (`write_zone_status`).
            watermark = batch_watermark_ms(spark, checkpoint, batch_id)
            if watermark is None:
                write_zone_status(spark, config, name, batch_id)
            elif (horizon := rules_horizon_ms(watermark, late_horizon_ms)) is not None:
                write_zone_status(spark, config, name, batch_id, datetime.fromtimestamp(horizon / 1000, UTC))
        finally:
            batch.unpersist()

    return write


def check_state_layout(spark: SparkSession, config: LakehouseConfig) -> None:
    """Refuse, in one line, to resume a checkpoint whose state this configuration would misread: another
    stateful operator (the `transformWithStateInPandas` of earlier versions) or another `state_buckets`
    (every user would land in a new bucket and look new). A checkpoint without state (none yet) passes."""
    checkpoint = config.checkpoint_path(QUERY_NAME)
    operators = {r.operatorName for r in
                 spark.read.format("state-metadata").load(checkpoint).select("operatorName").collect()}
    if not operators:
        return
    if operators == {OPERATOR}:
        state = spark.read.format("statestore").load(checkpoint).schema["value"].dataType["groupState"].dataType
        found = set(state.fieldNames())
    else:
        found = {f"of {', '.join(sorted(operators))}"}
    wanted = state_name(config.sessions)
    if found != {wanted}:
        raise ConfigError(
            f"the sessions checkpoint {checkpoint} holds state {', '.join(sorted(found))}, not {wanted}: it was "
            "written by another version or another sessions.state_buckets; stop the stream, move the checkpoint "
            "away and start again (the stream re-reads silver and MERGEs the same sessions by id)")


def session_rows_stream(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    """The sessions query's plan, its checkpoint's state layout checked first: driver work only (~0.5 s: the
    zones and vehicles read, the state metadata), so `run_ingestion` builds it while silver runs (issue 21)."""
    check_state_layout(spark, config)
    zones = zone_geometry(zones_reference(spark, config))
    return circling_rows(silver_session_events(spark, config), zones, config.rules, config.sessions)


def start_sessions(spark: SparkSession, config: LakehouseConfig, rows: DataFrame | None = None) -> StreamingQuery:
    """Start the sessions query on `rows` (`session_rows_stream`, built now if not given)."""
    rows = rows if rows is not None else session_rows_stream(spark, config)
    return with_trigger(rows.writeStream.foreachBatch(session_batch_writer(config, QUERY_NAME)), config,
                        QUERY_NAME).start()
