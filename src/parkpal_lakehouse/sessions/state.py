"""A user's sessionization state as the stream keeps it: one small row per user.

The row holds what the rules keep between micro-batches (`TRACKER_SCHEMA` names and types its
fields): the current activity, the open search's times and counters and the registered timer; the
session id is not stored (it is a hash of user, zone and entry time). Events not yet applied (waiting
for the watermark) ride along in `pending`, compact JSON, null once the watermark has passed them: a
micro-batch can leave hundreds of a user's events waiting, and Spark's conversion of a typed array
walks every value in Python (the chatty profile's benchmark lost a fifth of its speed to it, when the
rows were typed state). The stream keeps the rows of a bucket of users (`BUCKET_STATE_SCHEMA`: the
user id, then the row) as one JSON array in its state (`sessions/streaming.py`), read and written once
per bucket and micro-batch (benchmarks/sessionization_throughput.py reads the sizes back from the
checkpoint).
"""

from __future__ import annotations

import json
from typing import Any

from parkpal_lakehouse.config import CirclingRules
from parkpal_lakehouse.sessions.rules import SessionEvent, UserTracker, ZoneGeometry, session_id

# The open search's fields, in row order (names as in `rules._NEW_SESSION`).
_OPEN_LONGS = ("zone", "entry", "start", "run_start", "parked_at", "confirmed_at", "drive_start", "drive_pause",
               "exit_at")
_OPEN_FLAGS = ("run_flap", "drive_flap")
_OPEN_COUNTS = ("n_activity", "n_geofence", "n_gate", "ignored_exits", "ignored_flaps")

TRACKER_SCHEMA = ", ".join([
    "processed_ms BIGINT", "last_event_ms BIGINT", "activity_ms BIGINT", "activity STRING", "timer_ms BIGINT",
    "phase STRING", "confirmation STRING",
    *(f"{name} BIGINT" for name in _OPEN_LONGS), *(f"{name} BOOLEAN" for name in _OPEN_FLAGS),
    *(f"{name} INT" for name in _OPEN_COUNTS), "pending STRING",
])
_OPEN_FIELDS = ("phase", "confirmation", *_OPEN_LONGS, *_OPEN_FLAGS, *_OPEN_COUNTS)
# The stream keeps a bucket of users' rows in one list: each row is the user id, then a `TRACKER_SCHEMA` row.
BUCKET_STATE_SCHEMA = f"user_id BIGINT, {TRACKER_SCHEMA}"
# Where the registered timer (`timer_ms`) is in a `BUCKET_STATE_SCHEMA` row.
TIMER = [part.split()[0] for part in BUCKET_STATE_SCHEMA.split(", ")].index("timer_ms")


def tracker_row(tracker: UserTracker, timer_ms: int | None) -> tuple:
    """The tracker's state as a `TRACKER_SCHEMA` row."""
    activity_ms, activity = tracker.last_activity if tracker.last_activity is not None else (None, None)
    s = tracker.open
    open_part = tuple(s[f] for f in _OPEN_FIELDS) if s is not None else (None,) * len(_OPEN_FIELDS)
    pending = json.dumps(tracker.pending, separators=(",", ":")) if tracker.pending else None
    return (tracker.processed_ms, tracker.last_event_ms, activity_ms, activity, timer_ms, *open_part, pending)


def restore_tracker(user_id: int, rules: CirclingRules, zones: dict[int, ZoneGeometry],
                    row: tuple | None) -> tuple[UserTracker, int | None]:
    """A tracker from its stored row (None: a user without state), and its registered timer."""
    tracker = UserTracker(user_id, rules, zones)
    if row is None:
        return tracker, None
    tracker.processed_ms, tracker.last_event_ms, activity_ms, activity, timer_ms = row[:5]
    tracker.last_activity = (activity_ms, activity) if activity is not None else None
    values: dict[str, Any] = dict(zip(_OPEN_FIELDS, row[5:-1], strict=True))
    if values["phase"] is not None:
        values["id"] = session_id(user_id, values["zone"], values["entry"])
        tracker.open = values
    tracker.pending = list(map(SessionEvent._make, json.loads(row[-1]))) if row[-1] else []
    return tracker, timer_ms
