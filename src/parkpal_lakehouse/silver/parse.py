"""Parse and validate bronze records into typed events (or reasons to quarantine them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from parkpal_lakehouse.columns import kept_per_driver
from parkpal_lakehouse.contracts.events import CONTRACT, Hub, wire_schema
from parkpal_lakehouse.frames import one_per_key
from parkpal_lakehouse.silver.rules import (
    distance_m,
    failed_rules,
    field_rules,
    json_text,
    json_type,
    malformed_json,
    parse_event_time,
    presence_and_type,
    strict_json,
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


def event_key(hub: Hub, field: Callable[[str], Column]) -> Column:
    """The contract's dedupe key of a valid event: `id:<eventId>`, else `key:` and its natural key with
    the event time. `field` gives a wire field's column: typed bronze fields, or silver's columns."""
    natural = F.concat_ws("|", *[field(k).cast("string") for k in _NATURAL_KEY[hub]],
                          F.col("event_time").cast("string"))
    return F.coalesce(F.concat(F.lit("id:"), field("eventId")), F.concat(F.lit("key:"), natural))


def silver_key(hub: Hub) -> Column:
    """`event_key` over a silver table's (snake_case) columns: equal to the key its bronze record had."""
    columns = {s.name: s.column for s in CONTRACT[hub]}
    return event_key(hub, lambda name: F.col(columns[name]))


def unseen_events(events: DataFrame, silver: DataFrame, hub: Hub) -> DataFrame:
    """Valid events of a micro-batch less duplicates: within the batch, and of events silver already
    holds for the same event date and key. No watermark: a redelivery however late is still a
    duplicate, and a new event however late still reaches silver (the watermark used to drop it).

    `events` (with `record_id`) may carry columns besides silver's (the raw body, say): they are kept.
    The batch's event dates (which bound the lookup in silver) are read before deduplicating. Of the
    copies of an event in the batch the one whose record id hashes lowest is kept (`frames.one_per_key`).
    """
    dates = [r.event_date for r in events.select("event_date").distinct().collect()]
    batch = one_per_key(events.withColumn("_key", silver_key(hub)), ["event_date", "_key"])
    if not dates:
        return batch.drop("_key")
    seen = silver.where(F.col("event_date").isin(dates)).select("event_date", silver_key(hub).alias("_key"))
    return batch.join(seen, ["event_date", "_key"], "left_anti").drop("_key")


# Jackson's lenient extensions off (the contract says JSON): `strict_json` catches the rest.
_STRICT = {"allowSingleQuotes": "false", "allowNonNumericNumbers": "false", "allowComments": "false",
           "allowUnquotedFieldNames": "false", "allowNumericLeadingZeros": "false"}


@dataclass(frozen=True)
class ParseColumns:
    """The parse's column expressions for one hub and rule settings, in the order `parsed_events` applies
    them. They name columns and never a frame, so one set serves every bronze frame of the process."""

    read: tuple[Column, ...]  # bronze metadata, the typed body, the variant
    kinds: Column  # each field's JSON type
    checks: Column  # each field's presence and type
    malformed: Column
    event_time: Column
    zone_match: Column | None  # the join condition with the zones reference (hubs whose events name a zone)
    result: tuple[Column, ...]


def parse_columns(hub: Hub, max_future_skew_minutes: int = 15, geofence_tolerance_m: float = 150.0,
                  max_event_age_days: int = 30) -> ParseColumns:
    """`ParseColumns`, built once per Spark driver and settings (`columns.kept_per_driver`). Building them
    is ~2,300-4,100 Py4J round trips a hub (every rule is a few Column calls; 6,100-12,300 with PySpark's
    DataFrame query context on): 0.5-1.0 s a hub, warm, against 0.2-0.3 s for the frame operations that
    use them (issue 21, `benchmarks/parse_plan.py`)."""
    return _kept_parse_columns(hub, max_future_skew_minutes, float(geofence_tolerance_m), max_event_age_days)


def _build_parse_columns(hub: Hub, max_future_skew_minutes: int, geofence_tolerance_m: float,
                         max_event_age_days: int) -> ParseColumns:
    specs = CONTRACT[hub]
    typed = F.col("_typed")
    # Two parses of each body: typed by the wire schema (the values), and Spark's variant (strictness, each
    # field's JSON type, a number field's text). A third, every field as its text, is gone (issue 21).
    read = (*[F.col(c) for c in BRONZE_META],
            F.from_json("body", wire_schema(hub), _STRICT).alias("_typed"),
            strict_json(F.col("body")).alias("_json"))
    # Each field's JSON type, then whether it is present and of its type: computed once per record
    # (as struct columns Spark does not inline into every rule that reads them).
    kinds = F.struct(*[json_type("_json", s.name).alias(s.name) for s in specs])
    checks = []
    for s in specs:
        is_present, is_broken = presence_and_type(s, typed[s.name], F.col("_kinds")[s.name],
                                                  json_text("_json", s.name))
        checks += [is_present.alias(f"present_{s.name}"), is_broken.alias(f"broken_{s.name}")]

    def present(name: str) -> Column:
        return F.col("_checks")[f"present_{name}"]

    def broken(name: str) -> Column:
        return F.col("_checks")[f"broken_{name}"]

    values = {s.name: F.when(present(s.name) & ~broken(s.name), typed[s.name]) for s in specs}
    rules = field_rules(hub, typed, present, broken) + timestamp_rules(
        values["timestamp"], F.col("event_time"), F.col("enqueued_at"), max_future_skew_minutes, max_event_age_days
    )
    zone_match = None
    if any(s.name == "zoneId" for s in specs):
        zone_match = values["zoneId"] == F.col("_zone_id")
        distance = None
        if hub is Hub.GEOFENCE:
            # Only a real position can be outside a zone; one out of range breaks `range:*` alone.
            lat, lon = values["latitude"], values["longitude"]
            on_earth = lat.between(-90, 90) & lon.between(-180, 180)
            distance = F.when(on_earth, distance_m(lat, lon, F.col("_zone_lat"), F.col("_zone_lon")))
        rules += zone_rules(hub, values["zoneId"], F.col("_zone_id").isNotNull(), distance,
                            F.col("_zone_radius_m"), geofence_tolerance_m)

    failed = failed_rules(F.col("_malformed"), rules)
    key = F.when(F.size(failed) > 0, F.concat(F.lit("record:"), F.col("record_id"))).otherwise(
        event_key(hub, lambda name: values[name]))
    result = (
        *[F.col(c) for c in BRONZE_META],
        *[values[s.name].alias(s.column) for s in specs if s.kind != "timestamp"],
        F.col("event_time"),
        F.to_date("event_time").alias("event_date"),
        failed.alias("failed_rules"),
        key.alias("dedupe_key"),
    )
    return ParseColumns(read, kinds, F.struct(*checks), malformed_json("_json"),
                        parse_event_time(values["timestamp"]), zone_match, result)


_kept_parse_columns = kept_per_driver(_build_parse_columns)


def parsed_events(bronze: DataFrame, hub: Hub, zones: DataFrame, max_future_skew_minutes: int = 15,
                  geofence_tolerance_m: float = 150.0, max_event_age_days: int = 30) -> DataFrame:
    """One row per bronze record: bronze metadata, the event's fields as snake_case typed columns,
    `event_time` (UTC), `failed_rules` (empty when valid) and `dedupe_key`.

    The body must be exactly one JSON object (no trailing text, repeated keys, NaN or single quotes);
    a blank string counts as missing. `zones` needs `zone_id, latitude, longitude, radius_m`; it is
    broadcast (a few thousand rows).
    """
    columns = parse_columns(hub, max_future_skew_minutes, geofence_tolerance_m, max_event_age_days)
    df = bronze.select(*columns.read).withColumn("_kinds", columns.kinds).withColumn("_checks", columns.checks) \
        .withColumns({"_malformed": columns.malformed, "event_time": columns.event_time})
    if columns.zone_match is not None:
        zone_geo = F.broadcast(zones.select(
            F.col("zone_id").alias("_zone_id"), F.col("latitude").alias("_zone_lat"),
            F.col("longitude").alias("_zone_lon"), F.col("radius_m").alias("_zone_radius_m")))
        df = df.join(zone_geo, columns.zone_match, "left")
    return df.select(*columns.result)


# Delta's per-file statistics (min, max, null count) only on the columns silver's readers filter on: the
# event time (gold's and the zone status's ranges, the backfill), the commit time (gold's check for new
# events), the zone and the user. Delta's default, the first 32 columns, also summarised ids, plates and
# URLs no query skips on: ~30% of the silver write's CPU (issue 21, eighteenth part).
SILVER_STATS_COLUMNS = ("event_time", "processed_at", "zone_id", "user_id")


def silver_table_properties(schema: StructType) -> dict[str, str]:
    """The silver table's Delta properties: statistics on `SILVER_STATS_COLUMNS` it has."""
    return {"delta.dataSkippingStatsColumns": ",".join(c for c in SILVER_STATS_COLUMNS if c in schema.fieldNames())}


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
