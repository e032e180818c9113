"""The session tables and their idempotent writes.

- `silver.parking_sessions`: one row per closed search, MERGEd by `session_id` (deterministic), so a
  replayed micro-batch or a rerun backfill rewrites the same rows. `written_by` says which path wrote
  a row: `stream`, `batch` (backfill) or `repair`; the stream never overwrites a batch/repair row,
  because those saw events the stream did not (late ones).
- `silver.parking_sessions_open`: the searches running now, one row per user, for real-time use.
- `silver.late_events`: events that reached sessionization after their user's state had moved past
  them; `repaired_at` is set once the repair has re-sessionized their user.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.gold.status import ZONE_STATUS_DDL
from parkpal_lakehouse.io.delta import TableSpec, create_tables_if_missing, delta_table, read_table
from parkpal_lakehouse.names import LATE_EVENTS, OPEN_SESSIONS, PARKING_SESSIONS, ZONE_STATUS

_COUNTS = ("activity_events", "geofence_events", "gate_events", "ignored_exits", "ignored_flaps")
PARKING_SESSIONS_DDL = (
    "session_id STRING, user_id BIGINT, zone_id BIGINT, zone_entry_at TIMESTAMP, circling_start TIMESTAMP, "
    "parked_at TIMESTAMP, confirmed_at TIMESTAMP, departed_at TIMESTAMP, closed_at TIMESTAMP, "
    "circling_seconds DOUBLE, parked_seconds DOUBLE, outcome STRING, circling_is_estimate BOOLEAN, "
    "confirmation STRING, departure_source STRING, activity_events INT, geofence_events INT, gate_events INT, "
    "ignored_exits INT, ignored_flaps INT, entry_date DATE, written_by STRING, written_at TIMESTAMP"
)
OPEN_SESSIONS_DDL = (
    "session_id STRING, user_id BIGINT, zone_id BIGINT, phase STRING, zone_entry_at TIMESTAMP, "
    "circling_start TIMESTAMP, parked_at TIMESTAMP, confirmed_at TIMESTAMP, circling_seconds DOUBLE, "
    "confirmation STRING, activity_events INT, geofence_events INT, gate_events INT, ignored_exits INT, "
    "ignored_flaps INT, state_at TIMESTAMP, updated_at TIMESTAMP"
)
LATE_EVENTS_DDL = (
    "user_id BIGINT, event_time TIMESTAMP, kind STRING, event_key STRING, what STRING, state_at TIMESTAMP, "
    "detected_at TIMESTAMP, detected_date DATE, repaired_at TIMESTAMP"
)


def _ts(ms_column: str) -> Column:
    return F.timestamp_millis(F.col(ms_column))


def closed_sessions(rows: DataFrame, written_by: str) -> DataFrame:
    """The `closed` rows of the processor / batch output, as `silver.parking_sessions` rows."""
    return rows.filter(F.col("row_kind") == "closed").select(
        "session_id", "user_id", "zone_id",
        _ts("zone_entry_ms").alias("zone_entry_at"), _ts("circling_start_ms").alias("circling_start"),
        _ts("parked_ms").alias("parked_at"), _ts("confirmed_ms").alias("confirmed_at"),
        _ts("departed_ms").alias("departed_at"), _ts("closed_ms").alias("closed_at"),
        "circling_seconds", "parked_seconds", "outcome", "circling_is_estimate", "confirmation", "departure_source",
        *_COUNTS,
        F.to_date(_ts("zone_entry_ms")).alias("entry_date"),
        F.lit(written_by).alias("written_by"), F.current_timestamp().alias("written_at"),
    )


def open_sessions(rows: DataFrame) -> DataFrame:
    """The `open` rows as `silver.parking_sessions_open` rows (plus `row_kind` and `state_ms`)."""
    return rows.filter(F.col("row_kind") == "open").select(
        "session_id", "user_id", "zone_id", "phase",
        _ts("zone_entry_ms").alias("zone_entry_at"), _ts("circling_start_ms").alias("circling_start"),
        _ts("parked_ms").alias("parked_at"), _ts("confirmed_ms").alias("confirmed_at"), "circling_seconds",
        "confirmation", *_COUNTS, _ts("state_ms").alias("state_at"), F.current_timestamp().alias("updated_at"),
    )


def late_events(rows: DataFrame) -> DataFrame:
    return rows.filter(F.col("row_kind") == "late").select(
        "user_id", _ts("late_t_ms").alias("event_time"), F.col("late_kind").alias("kind"),
        F.col("late_key").alias("event_key"), F.col("late_what").alias("what"), _ts("state_ms").alias("state_at"),
        F.current_timestamp().alias("detected_at"), F.current_date().alias("detected_date"),
        F.lit(None).cast("timestamp").alias("repaired_at"),
    )


# The tables the sessions stream writes (the ingestion run creates them with its other tables, side by side).
SESSION_TABLES: tuple[TableSpec, ...] = (
    (PARKING_SESSIONS, PARKING_SESSIONS_DDL, ("entry_date",)), (OPEN_SESSIONS, OPEN_SESSIONS_DDL, ()),
    (LATE_EVENTS, LATE_EVENTS_DDL, ("detected_date",)), (ZONE_STATUS, ZONE_STATUS_DDL, ()))


def prepare_session_tables(spark: SparkSession, config: LakehouseConfig) -> None:
    create_tables_if_missing(spark, config, SESSION_TABLES)


def merge_closed_sessions(spark: SparkSession, config: LakehouseConfig, sessions: DataFrame) -> None:
    """Upsert closed sessions by `session_id`. A `stream` row never replaces a `batch`/`repair` row.

    The target is pruned to the entry dates the sessions have, as literals: Delta prunes partitions
    from a MERGE's condition, not from the source's rows, and a micro-batch's sessions span a day or
    two of a table that holds every day. One small job collects the dates (`sessions` is persisted
    by both callers)."""
    dates = sorted(r.entry_date for r in sessions.select("entry_date").distinct().collect()
                   if r.entry_date is not None)
    pruned = f"t.entry_date IN ({', '.join(f'DATE {d.isoformat()!r}' for d in dates)}) AND " if dates else ""
    (delta_table(spark, config, PARKING_SESSIONS).alias("t")
     .merge(sessions.alias("s"), pruned + "t.session_id = s.session_id AND t.entry_date = s.entry_date")
     .whenMatchedUpdateAll(condition="s.written_by <> 'stream' OR t.written_by = 'stream'")
     .whenNotMatchedInsertAll()
     .execute())


def refresh_open_sessions(spark: SparkSession, config: LakehouseConfig, rows: DataFrame) -> None:
    """Bring `silver.parking_sessions_open` up to date with one micro-batch's rows: per user, the latest
    row decides: an `open` row is upserted, a `closed` one removes the user's open search."""
    latest = Window.partitionBy("user_id").orderBy(F.col("state_ms").desc(), (F.col("row_kind") == "open").desc())
    decided = rows.filter(F.col("row_kind").isin("open", "closed")) \
        .withColumn("_rank", F.row_number().over(latest)).filter("_rank = 1")
    opened = open_sessions(decided)
    closed = decided.filter(F.col("row_kind") == "closed").select("user_id", F.lit(True).alias("_closed"))
    source = opened.withColumn("_closed", F.lit(False)).unionByName(closed, allowMissingColumns=True)
    columns = {c: f"s.{c}" for c in opened.columns}
    (delta_table(spark, config, OPEN_SESSIONS).alias("t")
     .merge(source.alias("s"), "t.user_id = s.user_id")
     .whenMatchedDelete(condition="s._closed")
     .whenMatchedUpdate(set=columns)
     .whenNotMatchedInsert(condition="NOT s._closed", values=columns)
     .execute())


def sessions_found(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    """Closed and open searches in one shape (`outcome` null for open ones, `phase` null for closed)."""
    closed = read_table(spark, config, PARKING_SESSIONS).select(
        "user_id", "zone_id", "zone_entry_at", "outcome", F.lit(None).cast("string").alias("phase"),
        "circling_seconds", "departed_at", "parked_seconds", "departure_source")
    running = read_table(spark, config, OPEN_SESSIONS).select(
        "user_id", "zone_id", "zone_entry_at", F.lit(None).cast("string").alias("outcome"), "phase",
        "circling_seconds", F.lit(None).cast("timestamp").alias("departed_at"),
        F.lit(None).cast("double").alias("parked_seconds"), F.lit(None).cast("string").alias("departure_source"))
    return closed.unionByName(running)
