"""Streaming sessionization: `transformWithStateInPandas` keyed by user, event-time timers, exactly once.

Why `transformWithStateInPandas` rather than `applyInPandasWithState`: a user needs several timers at
once (the jitter window after an EXIT, the silence timeout, the next buffered event), which the old
API's single timeout per group would have to multiplex; state variables are named and typed, so the
state can evolve and be read with Spark's state data source; and it is the API Spark 4 and
Databricks develop (the old one is in maintenance). It needs the RocksDB state store, which the local
session and the bundle's clusters configure.

Time: Spark's watermark is the newest event time minus `SessionSettings.spark_delay`
(`watermark_seconds + late_horizon_hours`); the processor works `late_horizon_hours` ahead of it, so
for the rules the watermark is newest-minus-`watermark_seconds`. Buffered events are applied in
event-time order once that passes them; timers are registered `late_horizon_hours` early to match.
An event older than what its user's state has applied is emitted as a `late` row (it never reaches
the rules), so Spark itself only ever drops rows more than the horizon late.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle, StreamingQuery
from pyspark.sql.streaming.stateful_processor import ExpiredTimerInfo, TimerValues

from parkpal_lakehouse.config import CirclingRules, LakehouseConfig, SessionSettings
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.gold.status import write_zone_status
from parkpal_lakehouse.io.delta import read_stream, read_table
from parkpal_lakehouse.io.writers import append_once, with_trigger
from parkpal_lakehouse.names import LATE_EVENTS, VEHICLES, silver_table
from parkpal_lakehouse.sessions.batch import SESSION_ROW_DDL, rows_frame, to_events, tracker_rows
from parkpal_lakehouse.sessions.inputs import session_events, zone_geometry
from parkpal_lakehouse.sessions.rules import SessionEvent, UserTracker, ZoneGeometry
from parkpal_lakehouse.sessions.state import TRACKER_SCHEMA, restore_tracker, tracker_row
from parkpal_lakehouse.sessions.store import closed_sessions, late_events, merge_closed_sessions, refresh_open_sessions
from parkpal_lakehouse.silver.reference import zones_reference

QUERY_NAME = "silver_parking_sessions"


class CirclingProcessor(StatefulProcessor):
    """Per user: buffer events until the watermark passes them, apply the circling rules in event-time
    order, emit each session once when it closes, an `open` row while one runs, `late` rows for events
    that came after the state moved past them. State (`sessions/state.py`): one small typed row per user
    (with the events not yet applied), cleared when the user is forgotten."""

    def __init__(self, rules: CirclingRules, zones: dict[int, ZoneGeometry], late_horizon_ms: int):
        self.rules, self.zones, self.late_horizon_ms = rules, zones, late_horizon_ms

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.state = handle.getValueState("tracker", TRACKER_SCHEMA)

    def _load(self, user_id: int) -> tuple[UserTracker, int | None]:
        tracker, timer = restore_tracker(user_id, self.rules, self.zones, self.state.get())  # None: no state
        self._open_before = dict(tracker.open) if tracker.open is not None else None
        return tracker, timer

    def handleInputRows(self, key: tuple, rows: Iterator[pd.DataFrame], timerValues: TimerValues
                        ) -> Iterator[pd.DataFrame]:
        tracker, timer = self._load(int(key[0]))
        watermark = timerValues.getCurrentWatermarkInMs()
        late = tracker.accept(to_events(rows), watermark + self.late_horizon_ms if watermark > 0 else None)
        yield from self._step(tracker, timer, timerValues, late)

    def handleExpiredTimer(self, key: tuple, timerValues: TimerValues, expiredTimerInfo: ExpiredTimerInfo
                           ) -> Iterator[pd.DataFrame]:
        tracker, timer = self._load(int(key[0]))
        if timer == expiredTimerInfo.getExpiryTimeInMs():
            timer = None  # Spark removes a timer once it has fired
        yield from self._step(tracker, timer, timerValues, [])

    def _step(self, tracker: UserTracker, timer: int | None, timer_values: TimerValues,
              late: list[SessionEvent]) -> Iterator[pd.DataFrame]:
        watermark = timer_values.getCurrentWatermarkInMs()
        closed = tracker.process_until(watermark + self.late_horizon_ms) if watermark > 0 else []
        wake = tracker.wake_at()
        wanted = None if wake is None or tracker.evictable else max(wake - self.late_horizon_ms, watermark + 1)
        if wanted != timer:
            if timer is not None:
                self.handle.deleteTimer(timer)
            if wanted is not None:
                self.handle.registerTimer(wanted)
        if tracker.evictable:
            self.state.clear()
        else:
            self.state.update(tracker_row(tracker, wanted))
        # The open search is emitted only when it changed: the open-sessions MERGE stays small.
        rows = tracker_rows(tracker, closed, late, include_open=tracker.open != self._open_before)
        if rows:
            yield rows_frame(rows)

    def close(self) -> None:
        pass


def circling_rows(events: DataFrame, zones: dict[int, ZoneGeometry], rules: CirclingRules,
                  settings: SessionSettings) -> DataFrame:
    """The processor's output rows (`SESSION_ROW_DDL`) for a stream of `inputs.session_events`."""
    processor = CirclingProcessor(rules, zones, settings.late_horizon_ms)
    return (events.withWatermark("event_time", settings.spark_delay)
            .groupBy("user_id")
            .transformWithStateInPandas(processor, SESSION_ROW_DDL, "Append", "EventTime"))


def silver_session_events(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    """The three silver event tables as one stream of session events."""
    return session_events(
        read_stream(spark, config, silver_table(Hub.ACTIVITY)),
        read_stream(spark, config, silver_table(Hub.GEOFENCE)),
        read_stream(spark, config, silver_table(Hub.GATE)),
        read_table(spark, config, VEHICLES),
    )


def session_batch_writer(config: LakehouseConfig, name: str) -> Callable[[DataFrame, int], None]:
    """Each micro-batch: closed sessions MERGEd by id, the open-sessions view refreshed, late events
    appended with the batch's transaction id, then `gold.zone_status` rewritten (`gold/status.py`); every
    write idempotent, so a replayed batch changes nothing."""

    newest: list[datetime | None] = [None]  # the newest event seen by the previous batch's status write

    def write(batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        batch = batch.persist()
        try:
            kinds = {r.row_kind: r["count"] for r in batch.groupBy("row_kind").count().collect()}
            if kinds.get("closed"):
                merge_closed_sessions(spark, config, closed_sessions(batch, "stream"))
            if kinds.get("closed") or kinds.get("open"):
                refresh_open_sessions(spark, config, batch)
            if kinds.get("late"):
                append_once(late_events(batch), config, LATE_EVENTS, name, batch_id,
                            partition_by=("detected_date",))
            newest[0] = write_zone_status(spark, config, name, batch_id, newest[0]) or newest[0]
        finally:
            batch.unpersist()

    return write


def start_sessions(spark: SparkSession, config: LakehouseConfig) -> StreamingQuery:
    zones = zone_geometry(zones_reference(spark, config))
    rows = circling_rows(silver_session_events(spark, config), zones, config.rules, config.sessions)
    return with_trigger(rows.writeStream.foreachBatch(session_batch_writer(config, QUERY_NAME)), config,
                        QUERY_NAME).start()
