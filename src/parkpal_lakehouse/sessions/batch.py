"""The batch twin: the same circling rules over a time range, for backfill and repair.

Both paths speak the processor's row shape (`SESSION_ROW_DDL`, times in epoch ms): a `closed` row per
finished search, an `open` row per search still running at the end, and (streaming only) a `late` row
per event that arrived after its user's state had moved past it. `store.py` turns them into tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.config import CirclingRules
from parkpal_lakehouse.sessions.inputs import RULE_COLUMNS
from parkpal_lakehouse.sessions.rules import SessionEvent, UserTracker, ZoneGeometry, session_row

SESSION_ROW_DDL = (
    "row_kind STRING, session_id STRING, user_id BIGINT, zone_id BIGINT, phase STRING, zone_entry_ms BIGINT, "
    "circling_start_ms BIGINT, parked_ms BIGINT, confirmed_ms BIGINT, departed_ms BIGINT, closed_ms BIGINT, "
    "circling_seconds DOUBLE, parked_seconds DOUBLE, outcome STRING, circling_is_estimate BOOLEAN, "
    "confirmation STRING, departure_source STRING, activity_events INT, geofence_events INT, gate_events INT, "
    "ignored_exits INT, ignored_flaps INT, state_ms BIGINT, "
    "late_t_ms BIGINT, late_kind STRING, late_key STRING, late_what STRING"
)
ROW_COLUMNS: tuple[str, ...] = tuple(part.split()[0] for part in SESSION_ROW_DDL.split(","))


def rows_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Output rows as a pandas frame of Python objects (None for null); Spark's Arrow conversion casts each
    column to `SESSION_ROW_DDL`. Object columns are ~60x cheaper to build per call than typed nullable
    ones, and this runs once per bucket of users and call (stream: and micro-batch)."""
    return pd.DataFrame({c: [r.get(c) for r in rows] for c in ROW_COLUMNS}, dtype=object)


def events_by_user(frames: Iterable[pd.DataFrame]) -> dict[int, list[SessionEvent]]:
    """Input rows of many users (the columns of `inputs.session_events`) as each user's `SessionEvent`s."""
    by_user: dict[int, list[SessionEvent]] = {}
    for pdf in frames:
        if pdf.empty:
            continue
        for user_id, event in zip(pdf["user_id"].tolist(), _frame_events(pdf), strict=True):
            by_user.setdefault(int(user_id), []).append(event)
    return by_user


def _frame_events(pdf: pd.DataFrame) -> Iterator[SessionEvent]:
    columns = [pdf[c].tolist() for c in ("t_ms", "kind", "event_key", "what", "confidence", "zone_id",
                                           "latitude", "longitude")]
    return (SessionEvent(int(t), k, str(key), str(w), _int(c), _int(z), _float(la), _float(lo))
            for t, k, key, w, c, z, la, lo in zip(*columns, strict=True))


def _int(value: Any) -> int:
    return 0 if value is None or value != value else int(value)  # None or NaN: 0


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def tracker_rows(tracker: UserTracker, closed: list[dict[str, Any]], late: list[SessionEvent] = (),
                 include_open: bool = True) -> list[dict[str, Any]]:
    """Output rows for what one call on `tracker` produced; `state_ms` orders a user's rows in time.
    `include_open`: whether to emit the open search (the stream does so only when it changed)."""
    state = {"state_ms": tracker.processed_ms}
    rows = [{"row_kind": "closed", **row, **state} for row in closed]
    if include_open and tracker.open is not None:
        rows.append({"row_kind": "open", **session_row(tracker.user_id, tracker.open, None, None), **state})
    rows += [{"row_kind": "late", "user_id": tracker.user_id, "late_t_ms": e.t, "late_kind": e.kind,
              "late_key": e.key, "late_what": e.what, **state} for e in late]
    return rows


BUCKET = "state_bucket"  # the column both paths group users by (the stream's state key)


def user_bucket(buckets: int) -> Column:
    """A user's bucket (of `buckets`): the key the stream keeps state under and the batch twin groups by."""
    return F.pmod(F.xxhash64("user_id"), F.lit(buckets))


def circling_sessions(events: DataFrame, zones: dict[int, ZoneGeometry], rules: CirclingRules,
                      until_ms: int, buckets: int) -> DataFrame:
    """One `closed` row per search that ended before `until_ms` and one `open` row per search still
    running then, from `events` (`inputs.session_events`, batch) in event-time order per user. One Python
    call per bucket of users (`SessionSettings.state_buckets`), as in the stream: a call per user made it
    3x slower (docs/sessionization.md)."""

    def per_bucket(pdf: pd.DataFrame) -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for user_id, user_events in events_by_user([pdf]).items():
            tracker = UserTracker(user_id, rules, zones)
            tracker.accept(user_events)
            rows += tracker_rows(tracker, tracker.process_until(until_ms))
        return rows_frame(rows)

    return events.select(*RULE_COLUMNS).groupBy(user_bucket(buckets).alias(BUCKET)) \
        .applyInPandas(per_bucket, SESSION_ROW_DDL)
