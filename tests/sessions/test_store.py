"""The session tables' writes, on a real Delta table."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.names import PARKING_SESSIONS
from parkpal_lakehouse.sessions.store import PARKING_SESSIONS_DDL, merge_closed_sessions, prepare_session_tables


def _session(spark, session_id: str, day: int, written_by: str = "stream"):
    entry = datetime(2026, 11, day, 8, tzinfo=UTC)
    row = {"session_id": session_id, "user_id": 1, "zone_id": 2, "zone_entry_at": entry, "closed_at": entry,
           "outcome": "parked", "entry_date": entry.date(), "written_by": written_by, "written_at": entry}
    return spark.createDataFrame([row], PARKING_SESSIONS_DDL)


def test_merging_a_days_sessions_names_only_that_day_and_keeps_the_others(spark, lakehouse):
    prepare_session_tables(spark, lakehouse)
    for day in (1, 2, 3):
        merge_closed_sessions(spark, lakehouse, _session(spark, f"s{day}", day))
    merge_closed_sessions(spark, lakehouse, _session(spark, "s2", 2, "repair"))  # the same session, rewritten

    last = spark.sql(f"DESCRIBE HISTORY delta.`{lakehouse.table_path(PARKING_SESSIONS)}` LIMIT 1").first()
    assert last.operation == "MERGE", last.operation
    # Delta prunes a MERGE's target by the partition literals in its condition: only the source's date.
    predicate = json.loads(last.operationParameters["predicate"])
    assert "2026-11-02" in predicate[0] and "2026-11-01" not in predicate[0] and "2026-11-03" not in predicate[0]
    assert int(last.operationMetrics["numTargetFilesRemoved"]) == 1
    rows = {r.session_id: r.written_by for r in read_table(spark, lakehouse, PARKING_SESSIONS).collect()}
    assert rows == {"s1": "stream", "s2": "repair", "s3": "stream"}
