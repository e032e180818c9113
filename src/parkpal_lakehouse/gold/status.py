"""Zone status now: one row per zone, rewritten by the streaming job after each sessions micro-batch.

What an app backend or an operator asks between two hourly gold runs: how full is the zone, how many
drivers are searching, how long did the last searches circle. Every figure describes one instant,
`as_of`: the point up to which the circling rules have applied every event in the micro-batch that
wrote it (`sessions/streaming.py`, `rules_horizon`: the batch's watermark plus the late horizon, i.e.
the newest event time seen before the batch minus `SessionSettings.watermark_seconds`). Gate counts
are taken at the same instant, so the row is one consistent picture.

- `vehicles_parked`: gated zones (LOT/GARAGE) count the vehicles inside, every vehicle, app or not
  (gate entries without an exit at `as_of`, within the longest stay: `parked_source = 'gate'`);
  streets count the app users parked (`app_parked`) and scale it to every driver with the hourly gold
  job's newest app penetration for the same hour of the week (`app_scaled_estimate`), or keep the
  app count (`app_sessions`) until gold has one.
- `searching_now`: app users whose search runs at `as_of` (open searches in phase `searching`).
- `circling_recent_*`: the circling time of searches whose circling ended (parked, or gave up) in the
  `RECENT_MINUTES` before `as_of`: median, p90 and how many.
- `free_spaces`: capacity minus vehicles parked, never below 0.
- `updated_at` (wall clock of the write) and `staleness_seconds` = `updated_at - as_of`.

The table holds no personal data (counts per zone only), so it is gold and shareable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.gold.inputs import between, dates_between, lookback
from parkpal_lakehouse.gold.occupancy import APP_SCALED_ESTIMATE, APP_SESSIONS, GATE, hour_of_week
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.io.writers import overwrite_once
from parkpal_lakehouse.names import (
    OPEN_SESSIONS,
    PARKING_SESSIONS,
    ZONE_METRICS_HOURLY,
    ZONE_STATUS,
    ZONES,
    silver_table,
)

RECENT_MINUTES = 15
ZONE_STATUS_DDL = (
    "zone_id BIGINT, name STRING, city STRING, zone_type STRING, capacity INT, vehicles_parked BIGINT, "
    "parked_source STRING, app_parked BIGINT, estimated_parked DOUBLE, app_penetration DOUBLE, "
    "searching_now BIGINT, circling_recent_n BIGINT, circling_recent_p50_s DOUBLE, circling_recent_p90_s DOUBLE, "
    "free_spaces BIGINT, occupancy_rate DOUBLE, as_of TIMESTAMP, updated_at TIMESTAMP, staleness_seconds DOUBLE"
)


def _at(as_of: datetime) -> Column:
    return F.lit(as_of).cast("timestamp")


def gate_inside(gate_events: DataFrame, as_of: datetime, max_stay_hours: int) -> DataFrame:
    """`zone_id, gate_parked`: vehicles inside each gated zone at `as_of`: entries at or before it, less
    than `max_stay_hours` before it (a lost exit read stops counting), that no exit read by then names
    (an exit names its entry: `entry_event_id`; payments play no part). One anti join: the visits
    themselves (`gold/facts.entries_and_exits`, a window and a full outer join) are not needed to count
    who has not left."""
    at = _at(as_of)
    read = gate_events.filter(F.col("event_time") <= at)
    entries = read.filter((F.col("event_type") == "VEHICLE_ENTRY")
                          & (F.col("event_time") > at - F.expr(f"INTERVAL {max_stay_hours} HOURS")))
    exits = read.filter((F.col("event_type") == "VEHICLE_EXIT") & F.col("entry_event_id").isNotNull())
    inside = entries.select("event_id", "zone_id").join(
        exits.select(F.col("entry_event_id").alias("event_id")), "event_id", "left_anti")
    return inside.groupBy("zone_id").agg(F.count("*").cast("bigint").alias("gate_parked"))


def searches_at(closed: DataFrame, running: DataFrame, as_of: datetime, minutes: int = RECENT_MINUTES
                ) -> DataFrame:
    """`zone_id, app_parked, searching_now, circling_recent_n, _p50_s, _p90_s` from the open searches
    (`silver.parking_sessions_open`) and the closed ones (`silver.parking_sessions`), in one aggregate:
    - `app_parked`: open searches parked by `as_of`; `searching_now`: open searches in phase `searching`;
    - `circling_recent_*`: searches whose circling ended in (as_of - minutes, as_of]: closed ones that
      parked or gave up, and open ones parked already."""
    at = _at(as_of)
    columns = ("zone_id", "phase", "parked_at", "circling_start", "circling_seconds")
    rows = running.select(*columns, F.lit(False).alias("closed")).unionByName(
        closed.filter(F.col("outcome").isin("parked", "abandoned")).select(
            "zone_id", F.lit(None).cast("string").alias("phase"), F.lit(None).cast("timestamp").alias("parked_at"),
            "circling_start", "circling_seconds", F.lit(True).alias("closed")))
    ends = F.timestamp_micros(F.unix_micros("circling_start") + (F.col("circling_seconds") * 1e6).cast("bigint"))
    recent = ((F.col("closed") | (F.col("phase") == "parked"))
              & F.col("circling_seconds").isNotNull() & F.col("circling_start").isNotNull()
              & (ends > at - F.expr(f"INTERVAL {minutes} MINUTES")) & (ends <= at))
    circled = F.when(recent, F.col("circling_seconds"))
    return rows.groupBy("zone_id").agg(
        F.count(F.when((F.col("phase") == "parked") & (F.col("parked_at") <= at), 1)).cast("bigint")
        .alias("app_parked"),
        F.count(F.when(F.col("phase") == "searching", 1)).cast("bigint").alias("searching_now"),
        F.count(circled).cast("bigint").alias("circling_recent_n"),
        F.percentile(circled, 0.5).alias("circling_recent_p50_s"),
        F.percentile(circled, 0.9).alias("circling_recent_p90_s"))


def newest_penetration(metrics: DataFrame, as_of: datetime, timezone: str) -> DataFrame:
    """`zone_id, app_penetration`: per zone, the hourly gold job's newest penetration for the hour of the
    week `as_of` falls in (penetration varies over the week)."""
    week_hour = hour_of_week(_at(as_of), timezone)
    rows = metrics.filter(F.col("app_penetration").isNotNull() & (F.col("hour_start") <= _at(as_of))
                          & (hour_of_week(F.col("hour_start"), timezone) == week_hour))
    return rows.groupBy("zone_id").agg(F.max_by("app_penetration", "hour_start").alias("app_penetration"))


def zone_status(zones: DataFrame, inside: DataFrame, searches: DataFrame, penetration: DataFrame,
                as_of: datetime, updated_at: datetime) -> DataFrame:
    """One `ZONE_STATUS_DDL` row per zone of `zones` from the parts above."""
    gated = F.col("zone_type").isin("LOT", "GARAGE")
    app = F.coalesce("app_parked", F.lit(0))
    scaled = F.col("app_penetration").isNotNull() & (F.col("app_penetration") > 0)
    estimate = F.when(~gated & scaled, F.least(app / F.col("app_penetration"), F.col("capacity").cast("double")))
    parked = F.when(gated, F.coalesce("gate_parked", F.lit(0))) \
        .when(scaled, F.round(estimate)).otherwise(app).cast("bigint")
    source = F.when(gated, F.lit(GATE)).when(scaled, F.lit(APP_SCALED_ESTIMATE)).otherwise(F.lit(APP_SESSIONS))
    joined = zones.select("zone_id", "name", "city", "zone_type", "capacity") \
        .join(inside, "zone_id", "left").join(searches, "zone_id", "left").join(penetration, "zone_id", "left")
    return joined.select(
        "zone_id", "name", "city", "zone_type", "capacity", parked.alias("vehicles_parked"),
        source.alias("parked_source"), app.cast("bigint").alias("app_parked"), estimate.alias("estimated_parked"),
        F.when(~gated, F.col("app_penetration")).alias("app_penetration"),
        F.coalesce("searching_now", F.lit(0)).cast("bigint").alias("searching_now"),
        F.coalesce("circling_recent_n", F.lit(0)).cast("bigint").alias("circling_recent_n"),
        "circling_recent_p50_s", "circling_recent_p90_s",
        F.greatest(F.col("capacity") - parked, F.lit(0)).cast("bigint").alias("free_spaces"),
        (parked / F.col("capacity")).alias("occupancy_rate"),
        _at(as_of).alias("as_of"), _at(updated_at).alias("updated_at"),
        F.lit((updated_at - as_of).total_seconds()).alias("staleness_seconds"))


# --- reading the lakehouse ----------------------------------------------------------------------------------
def newest_event_time(spark: SparkSession, config: LakehouseConfig) -> datetime | None:
    """The newest event time in the three silver event tables (what sessionization has been fed), in one
    Spark action."""
    parts = [read_table(spark, config, silver_table(hub)).select(F.unix_micros("event_time").alias("t"))
             for hub in Hub]
    micros = reduce(DataFrame.unionByName, parts).agg(F.max("t")).first()[0]
    return None if micros is None else datetime.fromtimestamp(micros / 1e6, UTC)


def current_zone_status(spark: SparkSession, config: LakehouseConfig, as_of: datetime, updated_at: datetime
                        ) -> DataFrame:
    """The status of every zone at `as_of`, from silver (gate events, open and closed searches) and the
    hourly gold job's penetration."""
    max_stay, horizon = config.gold.max_stay_hours, as_of + timedelta(seconds=1)
    since = as_of - lookback(config)  # every entry of a stay that can still be running at as_of
    gates = read_table(spark, config, silver_table(Hub.GATE)).filter(
        dates_between("event_date", since, horizon) & between("event_time", since, horizon))
    running = read_table(spark, config, OPEN_SESSIONS)
    recent_from = since - timedelta(minutes=RECENT_MINUTES)
    closed = read_table(spark, config, PARKING_SESSIONS).filter(
        dates_between("entry_date", recent_from, horizon) & between("zone_entry_at", recent_from, horizon))
    if table_exists(spark, config, ZONE_METRICS_HOURLY):
        penetration = newest_penetration(read_table(spark, config, ZONE_METRICS_HOURLY).filter(
            F.col("metric_date") >= F.lit((as_of - timedelta(days=29)).date())), as_of, config.timezone)
    else:
        penetration = spark.createDataFrame([], "zone_id BIGINT, app_penetration DOUBLE")
    return zone_status(read_table(spark, config, ZONES), gate_inside(gates, as_of, max_stay),
                       searches_at(closed, running, as_of), penetration, as_of, updated_at)


def write_zone_status(spark: SparkSession, config: LakehouseConfig, app_id: str, batch_id: int,
                      as_of: datetime | None = None) -> datetime | None:
    """Rewrite `gold.zone_status` as of `as_of`, once per (`app_id`, `batch_id`); returns the instant written.
    Without `as_of` (outside the stream): the newest event in silver minus the sessions' watermark, what
    the stream's horizon is once it has caught up; None, and nothing written, before any event."""
    if as_of is None:
        newest = newest_event_time(spark, config)
        if newest is None:
            return None
        as_of = newest - timedelta(seconds=config.sessions.watermark_seconds)
    status = current_zone_status(spark, config, as_of, datetime.now(UTC))
    overwrite_once(status, config, ZONE_STATUS, app_id, batch_id)
    return as_of
