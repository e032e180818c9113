"""Occupancy: how many spaces were taken, time-weighted over each hour, and the peak.

Occupancy is a level carried across hours, not a count of sessions: a car parked at 07:40 and gone at
10:15 occupies a space for 20 minutes of 07:00, all of 08:00 and 09:00 and 15 minutes of 10:00.
Gated zones take their stays from gate entries and exits (every vehicle, app or not); street zones
from app parking sessions (parked -> departed), so their occupancy covers app users only and is
labelled `app_sessions`.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

GATE, APP_SESSIONS = "gate", "app_sessions"


def _capped_end(start: Column, end: Column, max_stay_hours: int) -> Column:
    cap = start + F.expr(f"INTERVAL {max_stay_hours} HOURS")
    return F.least(F.coalesce(end, cap), cap)


def gate_stays(visits: DataFrame, max_stay_hours: int) -> DataFrame:
    """`zone_id, start_at, end_at` per gated visit with an entry: entry -> exit (or the stay cap)."""
    return visits.filter(F.col("entry_at").isNotNull()).select(
        "zone_id", F.col("entry_at").alias("start_at"),
        _capped_end(F.col("entry_at"), F.col("exit_at"), max_stay_hours).alias("end_at"))


def session_stays(closed: DataFrame, running: DataFrame, max_stay_hours: int) -> DataFrame:
    """`zone_id, start_at, end_at` per app user parked: closed `parked` searches from parked_at to the
    departure (or the close, when the phone went silent), and searches parked right now (open ones in
    phase `parked`) up to the stay cap."""
    done = closed.filter((F.col("outcome") == "parked") & F.col("parked_at").isNotNull()).select(
        "zone_id", F.col("parked_at").alias("start_at"),
        _capped_end(F.col("parked_at"), F.coalesce("departed_at", "closed_at"), max_stay_hours).alias("end_at"))
    now = running.filter((F.col("phase") == "parked") & F.col("parked_at").isNotNull()).select(
        "zone_id", F.col("parked_at").alias("start_at"),
        _capped_end(F.col("parked_at"), F.lit(None).cast("timestamp"), max_stay_hours).alias("end_at"))
    return done.unionByName(now)


def hourly_occupancy(stays: DataFrame, zone_hours: DataFrame) -> DataFrame:
    """Per `zone_hours` row (`zone_id, hour_start`): `occupied_avg` (time-weighted spaces taken) and
    `occupied_peak` (most at any instant), by sweeping the stays' arrivals (+1) and departures (-1)
    with a zero-change point at every hour boundary, so each segment of constant level lies inside one
    hour. `stays` must hold every stay that overlaps the hours (callers read `max_stay_hours` back).
    Departures sort before arrivals at the same instant."""
    changes = stays.filter(F.col("end_at") > F.col("start_at")).select(
        "zone_id", F.explode(F.array(
            F.struct(F.col("start_at").alias("t"), F.lit(1).alias("delta")),
            F.struct(F.col("end_at").alias("t"), F.lit(-1).alias("delta")))).alias("c")).select(
        "zone_id", "c.t", "c.delta")
    boundaries = zone_hours.select("zone_id", F.explode(F.array(
        F.col("hour_start"), F.col("hour_start") + F.expr("INTERVAL 1 HOUR"))).alias("t"),
        F.lit(0).alias("delta")).distinct()
    order = Window.partitionBy("zone_id").orderBy("t", "delta")
    points = changes.unionByName(boundaries).withColumn(
        "level", F.sum("delta").over(order.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
    points = points.withColumn("next_t", F.lead("t").over(order))
    segments = points.select(
        "zone_id", F.date_trunc("hour", "t").alias("hour_start"), "level",
        (F.coalesce(F.unix_micros("next_t") - F.unix_micros("t"), F.lit(0)) / 1e6).alias("seconds"))
    per_hour = segments.groupBy("zone_id", "hour_start").agg(
        (F.sum(F.col("level") * F.col("seconds")) / 3600.0).alias("occupied_avg"),
        F.max("level").cast("bigint").alias("occupied_peak"))
    return zone_hours.select("zone_id", "hour_start").join(per_hour, ["zone_id", "hour_start"], "left").select(
        "zone_id", "hour_start", F.coalesce("occupied_avg", F.lit(0.0)).alias("occupied_avg"),
        F.coalesce("occupied_peak", F.lit(0)).cast("bigint").alias("occupied_peak"))
