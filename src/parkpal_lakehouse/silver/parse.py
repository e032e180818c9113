"""Parse and validate bronze records into typed events (or reasons to quarantine them)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from parkpal_lakehouse.contracts.events import CONTRACT, Hub, wire_schema
from parkpal_lakehouse.silver.rules import (
    distance_m,
    failed_rules,
    field_rules,
    parse_event_time,
    timestamp_rules,
    zone_rules,
)

BRONZE_META = ("record_id", "hub", "body", "source", "source_file", "kafka_topic", "kafka_partition",
               "kafka_offset", "enqueued_at", "received_at", "ingested_at")
# The fields that identify an event when it carries no eventId (the contract's dedupe key).
_NATURAL_KEY = {
    Hub.ACTIVITY: ("userId", "sessionId", "activityType"),
    Hub.GEOFENCE: ("userId", "sessionId", "zoneId", "transition"),
    Hub.GATE: ("eventType", "zoneId", "licensePlate"),
}


# Every field as its JSON text; null for a body that is not a JSON object (one parse finds both).
_AS_TEXT = MapType(StringType(), StringType())


def parsed_events(bronze: DataFrame, hub: Hub, zones: DataFrame, max_future_skew_minutes: int = 15,
                  geofence_tolerance_m: float = 150.0) -> DataFrame:
    """One row per bronze record: bronze metadata, the event's fields as snake_case typed columns,
    `event_time` (UTC), `failed_rules` (empty when valid) and `dedupe_key`.

    `zones` needs `zone_id, latitude, longitude, radius_m`; it is broadcast (a few thousand rows).
    """
    specs = CONTRACT[hub]
    typed, text = F.col("_typed"), F.col("_text")
    df = bronze.select(
        *BRONZE_META,
        F.from_json("body", wire_schema(hub)).alias("_typed"),
        F.from_json("body", _AS_TEXT).alias("_text"),
    ).withColumn("_malformed", F.col("_text").isNull()).withColumn("event_time", parse_event_time(text["timestamp"]))

    rules = field_rules(hub, typed, text) + timestamp_rules(
        text["timestamp"], F.col("event_time"), F.col("enqueued_at"), max_future_skew_minutes
    )
    if any(s.name == "zoneId" for s in specs):
        zone_geo = F.broadcast(zones.select(
            F.col("zone_id").alias("_zone_id"), F.col("latitude").alias("_zone_lat"),
            F.col("longitude").alias("_zone_lon"), F.col("radius_m").alias("_zone_radius_m")))
        df = df.join(zone_geo, typed["zoneId"] == F.col("_zone_id"), "left")
        distance = None
        if hub is Hub.GEOFENCE:
            # Only a real position can be outside a zone; one out of range breaks `range:*` alone.
            lat, lon = typed["latitude"], typed["longitude"]
            on_earth = lat.between(-90, 90) & lon.between(-180, 180)
            distance = F.when(on_earth, distance_m(lat, lon, F.col("_zone_lat"), F.col("_zone_lon")))
        rules += zone_rules(hub, typed["zoneId"], F.col("_zone_id").isNotNull(), distance,
                            F.col("_zone_radius_m"), geofence_tolerance_m)

    failed = failed_rules(F.col("_malformed"), rules)
    natural = F.concat_ws("|", *[typed[k].cast("string") for k in _NATURAL_KEY[hub]],
                          F.col("event_time").cast("string"))
    key = F.when(F.size(failed) > 0, F.concat(F.lit("record:"), F.col("record_id"))).otherwise(
        F.coalesce(F.concat(F.lit("id:"), typed["eventId"]), F.concat(F.lit("key:"), natural)))
    return df.select(
        *BRONZE_META,
        *[typed[s.name].alias(s.column) for s in specs if s.kind != "timestamp"],
        "event_time",
        F.to_date("event_time").alias("event_date"),
        failed.alias("failed_rules"),
        key.alias("dedupe_key"),
    )


def silver_events(parsed: DataFrame) -> DataFrame:
    """The valid events: one row per event as the app or gate sent it, typed, with lineage columns."""
    drop = {"body", "source", "source_file", "kafka_topic", "kafka_partition", "kafka_offset", "failed_rules",
            "dedupe_key", "hub"}
    return parsed.filter(F.size("failed_rules") == 0).select(
        *[c for c in parsed.columns if c not in drop], F.current_timestamp().alias("processed_at")
    )


def quarantined_records(parsed: DataFrame) -> DataFrame:
    """Records that broke the contract: the raw body, where it came from, and every rule it broke."""
    return parsed.filter(F.size("failed_rules") > 0).select(
        "record_id", "hub", "body", "failed_rules", "source", "source_file", "kafka_topic", "kafka_partition",
        "kafka_offset", "enqueued_at", "received_at", "ingested_at", F.current_timestamp().alias("quarantined_at"),
        F.current_date().alias("quarantine_date"),
    )
