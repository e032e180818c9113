"""What sessionization reads: the three silver event tables as one per-user event stream."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.sessions.rules import ZoneGeometry

# What the rules read of an event (`batch.events_by_user`): the columns both paths hand to Python. Not
# `event_time`: a timestamp is the costliest column in the stream's row-by-row hand-over to the processor
# (pandas builds a `Timestamp` per row), though the stream gained only a few per cent (docs/sessionization.md).
RULE_COLUMNS = ("user_id", "t_ms", "kind", "event_key", "what", "confidence", "zone_id", "latitude", "longitude")


def _shape(df: DataFrame, kind: str, what: str, confidence, zone_id, latitude, longitude) -> DataFrame:
    return df.select(
        F.col("user_id").cast("long").alias("user_id"),
        "event_time",
        F.unix_millis("event_time").alias("t_ms"),
        F.lit(kind).alias("kind"),
        F.coalesce(F.col("event_id"), F.col("record_id")).alias("event_key"),
        F.col(what).alias("what"),
        confidence.cast("int").alias("confidence"),
        zone_id.cast("long").alias("zone_id"),
        latitude.cast("double").alias("latitude"),
        longitude.cast("double").alias("longitude"),
    )


def session_events(activity: DataFrame, geofence: DataFrame, gate: DataFrame, vehicles: DataFrame) -> DataFrame:
    """One row per event that can open, park or close a search, keyed by app user.

    Gate events carry a licence plate, not a user: VEHICLE_ENTRY / VEHICLE_EXIT are attributed to the
    app user the plate is registered to (`silver.vehicles`); other vehicles' gate events (drivers without
    the app) are not part of any search and stay in silver for the gate facts. Works on batch and
    streaming DataFrames alike (the vehicles side is a static table).
    """
    none = F.lit(None)
    acts = _shape(activity, "activity", "activity_type", F.col("confidence"), F.lit(0), F.col("latitude"),
                  F.col("longitude"))
    fences = _shape(geofence, "geofence", "transition", F.lit(0), F.col("zone_id"), F.col("latitude"),
                    F.col("longitude"))
    owners = F.broadcast(vehicles.select("license_plate", F.col("user_id").alias("owner_id")))
    gates = _shape(
        gate.filter(F.col("event_type").isin("VEHICLE_ENTRY", "VEHICLE_EXIT"))
        .join(owners, "license_plate").withColumn("user_id", F.col("owner_id")),
        "gate", "event_type", F.lit(0), F.col("zone_id"), none, none)
    return acts.unionByName(fences).unionByName(gates)


def zone_geometry(zones: DataFrame) -> dict[int, ZoneGeometry]:
    """Zone centres and radii, small enough to ship to every task with the processor."""
    return {int(r.zone_id): ZoneGeometry(float(r.latitude), float(r.longitude), float(r.radius_m))
            for r in zones.select("zone_id", "latitude", "longitude", "radius_m").collect()}
