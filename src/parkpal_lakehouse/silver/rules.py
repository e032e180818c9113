"""The contract's validation rules as Spark Column expressions, generated from `CONTRACT`.

Each rule is `(name, broken)`: `broken` is true for a record that breaks it. Names match the Python
validator's (`contracts.events.contract_violations`) so quarantine reasons read the same everywhere.
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import CONTRACT, FieldSpec, Hub

Rule = tuple[str, Column]
# ISO-8601 with `Z` or an offset, 0-9 fraction digits; a timestamp without a zone does not parse.
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSSSSS]XXX"


def parse_event_time(raw_timestamp: Column) -> Column:
    return F.try_to_timestamp(raw_timestamp, F.lit(TIMESTAMP_FORMAT))


def distance_m(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    """Great-circle distance in metres (haversine)."""
    dlat, dlon = F.radians(lat2 - lat1), F.radians(lon2 - lon1)
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(F.radians(lat1)) * F.cos(F.radians(lat2)) * F.pow(F.sin(dlon / 2), 2)
    return F.lit(2 * 6_371_000.0) * F.asin(F.least(F.lit(1.0), F.sqrt(a)))


def _required(spec: FieldSpec, event_type: Column | None) -> Column:
    if spec.required_for is not None and event_type is not None:
        return F.coalesce(event_type.isin(list(spec.required_for)), F.lit(False))
    return F.lit(spec.required)


def field_rules(hub: Hub, typed: Column, raw: Column) -> list[Rule]:
    """required / type / enum / range for every field of the hub's contract."""
    event_type = typed["eventType"] if hub is Hub.GATE else None
    rules: list[Rule] = []
    for spec in CONTRACT[hub]:
        value, text = typed[spec.name], raw[spec.name]
        rules.append((f"required:{spec.name}", text.isNull() & _required(spec, event_type)))
        if spec.kind != "timestamp":
            rules.append((f"type:{spec.name}", text.isNotNull() & value.isNull()))
        if spec.allowed is not None:
            rules.append((f"enum:{spec.name}", value.isNotNull() & ~value.isin(list(spec.allowed))))
        bounds = []
        if spec.minimum is not None:
            bounds.append(value < F.lit(spec.minimum))
        if spec.maximum is not None:
            bounds.append(value > F.lit(spec.maximum))
        if bounds:
            out_of_range = bounds[0] if len(bounds) == 1 else bounds[0] | bounds[1]
            rules.append((f"range:{spec.name}", F.coalesce(out_of_range, F.lit(False))))
    return rules


def timestamp_rules(
    raw_timestamp: Column, event_time: Column, enqueued_at: Column, max_skew_minutes: int
) -> list[Rule]:
    return [
        ("timestamp:unparseable", raw_timestamp.isNotNull() & event_time.isNull()),
        ("timestamp:future",
         F.coalesce(event_time > enqueued_at + F.expr(f"INTERVAL {int(max_skew_minutes)} MINUTES"), F.lit(False))),
    ]


def zone_rules(hub: Hub, zone_id: Column, zone_found: Column, distance: Column | None, radius: Column,
               tolerance_m: float) -> list[Rule]:
    """Unknown zone ids; for geofence events also a position too far outside the zone."""
    rules: list[Rule] = [("reference:zoneId", zone_id.isNotNull() & ~zone_found)]
    if hub is Hub.GEOFENCE and distance is not None:
        if not math.isfinite(tolerance_m) or tolerance_m < 0:
            raise ValueError("geofence tolerance must be a non-negative number of metres")
        rules.append(("geo:outside_zone", F.coalesce(distance > radius + F.lit(tolerance_m), F.lit(False))))
    return rules


def failed_rules(malformed: Column, rules: list[Rule]) -> Column:
    """array<string> of broken rule names; only `malformed:json` when the body is not a JSON object."""
    broken = F.array_compact(F.array(*[F.when(cond, F.lit(name)) for name, cond in rules]))
    return F.when(malformed, F.array(F.lit("malformed:json"))).otherwise(broken)
