"""Batch sessionization over silver: backfill a time range, and repair what late events changed.

Both re-run the circling rules (`batch.circling_sessions`, the streaming processor's twin) for a set
of users up to the data horizon (newest event time minus the session watermark, where the stream's
own rules stand), and replace those users' sessions that entered from a per-user start on. The replay
begins at the user's last silence before that start long enough for the rules to have forgotten the
user (`CirclingRules.forget_after_seconds`: a parked search stays open up to the longest stay, the
current activity holds for hours), so it reproduces a full run exactly: a GPS-jitter re-entry just
after the start is still seen as part of the session that began before it. Writes are MERGEs by the deterministic
`session_id`, so a rerun changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.names import LATE_EVENTS, OPEN_SESSIONS, PARKING_SESSIONS, VEHICLES, silver_table
from parkpal_lakehouse.sessions.batch import circling_sessions
from parkpal_lakehouse.sessions.inputs import session_events, zone_geometry
from parkpal_lakehouse.sessions.store import closed_sessions, merge_closed_sessions, prepare_session_tables
from parkpal_lakehouse.silver.reference import zones_reference


@dataclass(frozen=True)
class ResessionizeReport:
    users: int
    sessions_written: int
    horizon: datetime | None
    late_events_repaired: int = 0


def silver_events_batch(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    return session_events(*(read_table(spark, config, silver_table(h)) for h in (Hub.ACTIVITY, Hub.GEOFENCE,
                                                                                    Hub.GATE)),
                          read_table(spark, config, VEHICLES))


def data_horizon_ms(events: DataFrame, watermark_seconds: int) -> int | None:
    """Newest event time minus the session watermark: how far the rules can be applied."""
    newest = events.agg(F.max("t_ms")).first()[0]
    return None if newest is None else int(newest) - 1000 * watermark_seconds


def restart_points(events: DataFrame, starts: DataFrame, forget_after_seconds: int) -> DataFrame:
    """Per user (`starts`: `user_id, from_ts`), where replaying the rules reproduces exactly the state a
    full run has at `from_ts`: the first event after the user's last silence longer than
    `forget_after_seconds` (the rules hold nothing of a user then), or the user's first event.
    Returns `user_id, restart_ms`."""
    order = Window.partitionBy("user_id").orderBy("t_ms", "kind", "event_key")
    before = events.join(F.broadcast(starts), "user_id").filter(F.col("event_time") <= F.col("from_ts")) \
        .withColumn("_previous_ms", F.lag("t_ms").over(order))
    fresh = F.col("_previous_ms").isNull() | (F.col("t_ms") - F.col("_previous_ms") > 1000 * forget_after_seconds)
    restarts = before.filter(fresh).groupBy("user_id").agg(F.max("t_ms").alias("restart_ms"))
    # Users with no event before their start replay from the start itself.
    return starts.join(restarts, "user_id", "left").select(
        "user_id", F.coalesce("restart_ms", F.unix_millis("from_ts")).alias("restart_ms"))


def resessionize(spark: SparkSession, config: LakehouseConfig, starts: DataFrame, written_by: str,
                 entry_before: datetime | None = None) -> ResessionizeReport:
    """Re-run the rules for the users in `starts` (`user_id, from_ts`) and replace their sessions that
    entered at or after `from_ts` (and before `entry_before`, if given) and closed before the horizon."""
    prepare_session_tables(spark, config)
    events = silver_events_batch(spark, config)
    horizon = data_horizon_ms(events, config.sessions.watermark_seconds)
    # Fixed on the driver: `starts` may be derived from the sessions table, which is rewritten below
    # (a cached DataFrame would be recomputed from the rewritten table).
    fixed = starts.select("user_id", "from_ts").collect()
    starts, users = spark.createDataFrame(fixed, "user_id BIGINT, from_ts TIMESTAMP"), len(fixed)
    if horizon is None or users == 0:
        return ResessionizeReport(0, 0, None)
    scoped = events.join(restart_points(events, starts, config.rules.forget_after_seconds), "user_id") \
        .filter(F.col("t_ms") >= F.col("restart_ms")).drop("restart_ms")
    zones = zone_geometry(zones_reference(spark, config))
    rows = circling_sessions(scoped, zones, config.rules, horizon, config.sessions.state_buckets)
    horizon_ts = F.timestamp_millis(F.lit(horizon))
    in_scope = (F.col("zone_entry_at") >= F.col("from_ts")) & (F.col("closed_at") < horizon_ts)
    if entry_before is not None:
        in_scope &= F.col("zone_entry_at") < F.lit(entry_before)
    fresh = closed_sessions(rows, written_by).join(F.broadcast(starts), "user_id").filter(in_scope) \
        .drop("from_ts").persist()
    target = delta_table(spark, config, PARKING_SESSIONS)
    stale = starts.withColumn("horizon_ts", horizon_ts)
    condition = ("t.user_id = s.user_id AND t.zone_entry_at >= s.from_ts AND t.closed_at < s.horizon_ts"
                 + (f" AND t.zone_entry_at < TIMESTAMP '{entry_before.isoformat()}'" if entry_before else ""))
    # Sessions the rules no longer produce (e.g. one a late EXIT split in two) go; then the fresh ones land.
    target.alias("t").merge(stale.alias("s"), condition).whenMatchedDelete().execute()
    merge_closed_sessions(spark, config, fresh)
    written = fresh.count()
    fresh.unpersist()
    return ResessionizeReport(users, written, datetime.fromtimestamp(horizon / 1000).astimezone())


def backfill_sessions(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime
                      ) -> ResessionizeReport:
    """(Re)build the sessions of every user that entered a zone in [start, end) from silver."""
    if end <= start:
        raise ConfigError(f"backfill range is empty: --to {end.isoformat()} is not after --from {start.isoformat()}")
    users = silver_events_batch(spark, config).filter(
        (F.col("kind") == "geofence") & (F.col("event_time") >= F.lit(start)) & (F.col("event_time") < F.lit(end))
    ).select("user_id").distinct().withColumn("from_ts", F.lit(start).cast("timestamp"))
    return resessionize(spark, config, users, "batch", entry_before=end)


def repair_late_sessions(spark: SparkSession, config: LakehouseConfig) -> ResessionizeReport:
    """Re-sessionize every user with unrepaired late events, from the earliest session their late
    events could have changed, then mark those events repaired."""
    prepare_session_tables(spark, config)
    late = read_table(spark, config, LATE_EVENTS).filter(F.col("repaired_at").isNull()) \
        .select("user_id", "event_key", "event_time")
    late_rows = late.collect()
    if not late_rows:  # nothing to repair: no replay, no write
        return ResessionizeReport(0, 0, None, 0)
    late = spark.createDataFrame(late_rows, late.schema)  # fixed before the late table is updated
    first_late = late.groupBy("user_id").agg(F.min("event_time").alias("late_from"))
    # A late event can change the session it falls into, so start at that session's entry.
    running = read_table(spark, config, PARKING_SESSIONS).select("user_id", "zone_entry_at", "closed_at") \
        .unionByName(read_table(spark, config, OPEN_SESSIONS).select(
            "user_id", "zone_entry_at", F.lit(None).cast("timestamp").alias("closed_at")))
    covering = running.join(first_late, "user_id").filter(
        (F.col("zone_entry_at") <= F.col("late_from"))
        & (F.col("closed_at").isNull() | (F.col("closed_at") >= F.col("late_from")))
    ).groupBy("user_id").agg(F.min("zone_entry_at").alias("session_from"))
    starts = first_late.join(covering, "user_id", "left").select(
        "user_id", F.least("late_from", F.coalesce("session_from", "late_from")).alias("from_ts"))
    repaired = len(late_rows)
    report = resessionize(spark, config, starts, "repair")
    (delta_table(spark, config, LATE_EVENTS).alias("t")
     .merge(late.alias("s"), "t.user_id = s.user_id AND t.event_key = s.event_key AND t.event_time = s.event_time "
                             "AND t.repaired_at IS NULL")
     .whenMatchedUpdate(set={"repaired_at": F.current_timestamp()})
     .execute())
    return ResessionizeReport(report.users, report.sessions_written, report.horizon, repaired)
