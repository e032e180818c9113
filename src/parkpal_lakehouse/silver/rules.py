"""The contract's validation rules as Spark Column expressions, generated from `CONTRACT`.

Each rule is `(name, broken)`: `broken` is true for a record that breaks it. Names match the Python
validator's (`contracts.events.contract_violations`) so quarantine reasons read the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pyspark.sql import Column
from pyspark.sql import functions as F

from parkpal_lakehouse.columns import names_where
from parkpal_lakehouse.contracts.events import BLANK_CHARACTERS, CONTRACT, FieldSpec, Hub

Rule = tuple[str, Column]
# ISO-8601 with `Z` or an offset, 0-9 fraction digits; a timestamp without a zone does not parse.
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSSSSS]XXX"


_FIRST_VALID = "0001-01-01 00:00:00"  # Python (the contract's validator) has no year 0


def parse_event_time(raw_timestamp: Column) -> Column:
    ts = F.try_to_timestamp(raw_timestamp, F.lit(TIMESTAMP_FORMAT))
    return F.when(ts >= F.lit(_FIRST_VALID).cast("timestamp"), ts)


def strict_json(body: Column) -> Column:
    """The body as a variant array `[<body>]`, for `malformed_json` and `json_type`. Spark's variant
    parser refuses single quotes, NaN/Infinity and repeated keys; the brackets make anything after the
    object (trailing text, `{A}{B}`) a syntax error or a second element."""
    return F.try_parse_json(F.concat(F.lit("["), body, F.lit("]")))


def malformed_json(wrapped: str) -> Column:
    """True unless the wrapped body (column `wrapped`) holds exactly one JSON object."""
    # An object is what casts to a struct (of no fields: nothing is copied); its schema's name said the same
    # at the cost of rendering every field's type (issue 21).
    return (F.col(wrapped).isNull()
            | F.expr(f"variant_get({wrapped}, '$[1]')").isNotNull()
            | F.expr(f"try_variant_get({wrapped}, '$[0]', 'struct<>')").isNull())


def json_type(wrapped: str, field: str) -> Column:
    """The JSON type of a top-level field of the wrapped body: STRING, BIGINT, BOOLEAN, OBJECT<...>, VOID
    (JSON's null), ...; null when the body has no such field."""
    return F.expr(f"schema_of_variant(variant_get({wrapped}, '$[0].{field}'))")


def blank(text: Column) -> Column:
    """True when a string is only the contract's `BLANK_CHARACTERS` (it is then missing). Trimmed, not
    matched: a regular expression's `$` also matches before a final line terminator, so `^[...]*$` took
    "\\u2028", "\\u2029" and "\\u0085" for blank where the contract does not (issue 21)."""
    return F.btrim(text, F.lit(BLANK_CHARACTERS)) == F.lit("")


def json_text(wrapped: str, field: str) -> Column:
    """A top-level field of the wrapped body read as a string (for a number field sent as a string)."""
    return F.expr(f"try_variant_get({wrapped}, '$[0].{field}', 'string')")


def presence_and_type(spec: FieldSpec, value: Column, jtype: Column, text: Column) -> tuple[Column, Column]:
    """(present, type_broken) of one field, as the Python validator decides them: absent, null or a
    blank string is missing; a string field takes a string or number, never an object, array or
    boolean; a number field takes a JSON number that fits its type, never a string. `value` is the
    field as the wire schema typed it, `jtype` its `json_type`, `text` its `json_text`: read for a number
    field sent as a string, or a string field without a typed value (a typed string is the string)."""
    string = F.coalesce(value, text) if spec.kind in ("string", "timestamp") else text
    is_blank = F.when(jtype == F.lit("STRING"), blank(string))  # only a JSON string can be blank
    present = jtype.isNotNull() & (jtype != F.lit("VOID")) & ~F.coalesce(is_blank, F.lit(False))
    if spec.kind in ("string", "timestamp"):
        wrong = jtype.startswith("OBJECT") | jtype.startswith("ARRAY") | (jtype == "BOOLEAN")
        if spec.kind == "string":
            wrong = wrong | value.isNull()
    else:
        wrong = value.isNull() | (jtype == "STRING")
    return present, present & F.coalesce(wrong, F.lit(True))


def distance_m(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    """Great-circle distance in metres (haversine)."""
    dlat, dlon = F.radians(lat2 - lat1), F.radians(lon2 - lon1)
    a = F.pow(F.sin(dlat / 2), 2) + F.cos(F.radians(lat1)) * F.cos(F.radians(lat2)) * F.pow(F.sin(dlon / 2), 2)
    return F.lit(2 * 6_371_000.0) * F.asin(F.least(F.lit(1.0), F.sqrt(a)))


def _required(spec: FieldSpec, event_type: Column | None) -> Column:
    if spec.required_for is not None and event_type is not None:
        return F.coalesce(event_type.isin(list(spec.required_for)), F.lit(False))
    return F.lit(spec.required)


def field_rules(hub: Hub, typed: Column, present: Callable[[str], Column],
                broken: Callable[[str], Column]) -> list[Rule]:
    """required / type / enum / range for every field of the hub's contract (timestamps: required and
    type here, their own rules in `timestamp_rules`). `present(field)` and `broken(field)` are the
    field's `presence_and_type`, computed once per record."""
    event_type = typed["eventType"] if hub is Hub.GATE else None
    rules: list[Rule] = []
    for spec in CONTRACT[hub]:
        value = typed[spec.name]
        usable = present(spec.name) & ~broken(spec.name)
        rules.append((f"required:{spec.name}", ~present(spec.name) & _required(spec, event_type)))
        rules.append((f"type:{spec.name}", broken(spec.name)))
        if spec.allowed is not None:
            rules.append((f"enum:{spec.name}", usable & ~value.isin(list(spec.allowed))))
        bounds = []
        if spec.minimum is not None:
            bounds.append(value < F.lit(spec.minimum))
        if spec.maximum is not None:
            bounds.append(value > F.lit(spec.maximum))
        if spec.kind == "double":  # NaN and +-Infinity are no amount, position or confidence
            bounds.append(F.isnan(value) | (F.abs(value) == F.lit(float("inf"))))
        if bounds:
            out_of_range = bounds[0]
            for bound in bounds[1:]:
                out_of_range = out_of_range | bound
            rules.append((f"range:{spec.name}", usable & F.coalesce(out_of_range, F.lit(False))))
    return rules


def timestamp_rules(
    usable_timestamp: Column, event_time: Column, enqueued_at: Column, max_skew_minutes: int, max_age_days: int
) -> list[Rule]:
    """`usable_timestamp`: the raw timestamp where it is present and a string (else null)."""
    return [
        ("timestamp:unparseable", usable_timestamp.isNotNull() & event_time.isNull()),
        ("timestamp:future",
         F.coalesce(event_time > enqueued_at + F.expr(f"INTERVAL {int(max_skew_minutes)} MINUTES"), F.lit(False))),
        ("timestamp:too_old",
         F.coalesce(event_time < enqueued_at - F.expr(f"INTERVAL {int(max_age_days)} DAYS"), F.lit(False))),
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
    """array<string> of broken rule names; only `malformed:json` when the body is not one JSON object."""
    return F.when(malformed, F.array(F.lit("malformed:json"))).otherwise(names_where(rules))
