"""The event contract, declared once as data (see docs/event-contract.md).

Each hub's fields are `FieldSpec`s: wire name (camelCase, as the app and gates send it), type,
whether and when it is required, allowed values and range. From these specs come the Spark read
schemas, the silver column names (snake_case), the silver validation rules, and the pure-Python
validator used by the simulator and the contract tests, so the rules cannot drift apart.

Rule names are stable strings (`required:userId`, `range:confidence`, `enum:activityType`, ...);
they are what quarantine rows carry as the reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pyspark.sql.types import (
    DataType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)


class Hub(StrEnum):
    ACTIVITY = "activity-events"
    GEOFENCE = "geofence-events"
    GATE = "gate-events"


ACTIVITY_TYPES = ("IN_VEHICLE", "ON_BICYCLE", "ON_FOOT", "RUNNING", "STILL", "TILTING", "WALKING", "UNKNOWN")
TRANSITIONS = ("ENTER", "EXIT", "DWELL")
GATE_EVENT_TYPES = ("VEHICLE_ENTRY", "PAYMENT", "VEHICLE_EXIT")
VEHICLE_TYPES = ("CAR", "MOTORCYCLE", "TRUCK")
PAYMENT_METHODS = ("CREDIT_CARD", "DEBIT_CARD", "MOBILE_PAYMENT", "CASH")
PAYMENT_STATUSES = ("PENDING", "COMPLETED", "FAILED", "REFUNDED")

# Events stamped further than this in the future are invalid (phone clocks drift a little, not hours).
MAX_FUTURE_SKEW = timedelta(minutes=15)
# Events older than this when enqueued are invalid: a phone may upload a day or two late after being
# offline, but not years (a clock at 1970 or 1900 would make gold compute decades of empty hours).
MAX_EVENT_AGE = timedelta(days=30)
# ISO-8601 instants exactly as Spark's silver parser reads them (`yyyy-MM-dd'T'HH:mm:ss[.S..S]XXX`).
_ISO_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})",
                          re.ASCII)
# Blank means missing: only whitespace JSON and Java's `\s` both call whitespace (not U+2028, U+0085...).
# Spark's silver rules trim exactly these (`silver.rules.blank`).
BLANK_CHARACTERS = " \t\n\x0b\f\r"
_BLANK = re.compile(f"[{re.escape(BLANK_CHARACTERS)}]*")
_INT_RANGE = {"long": (-(2**63), 2**63 - 1), "int": (-(2**31), 2**31 - 1)}

_KINDS: dict[str, DataType] = {
    "long": LongType(),
    "int": IntegerType(),
    "double": DoubleType(),
    "string": StringType(),
    "timestamp": StringType(),  # parsed in silver: ISO-8601 with Z or an offset
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an event on the wire."""

    name: str
    kind: str
    required: bool = True
    # For gate events: the event types that require this field (None: all that `required` says).
    required_for: tuple[str, ...] | None = None
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def column(self) -> str:
        """snake_case silver column name: `plateConfidence` -> `plate_confidence`."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    def required_when(self, event_type: str | None) -> bool:
        if self.required_for is not None:
            return event_type in self.required_for
        return self.required


_ENTRY_EXIT = ("VEHICLE_ENTRY", "VEHICLE_EXIT")
_LAT = dict(minimum=-90.0, maximum=90.0)
_LON = dict(minimum=-180.0, maximum=180.0)

CONTRACT: dict[Hub, tuple[FieldSpec, ...]] = {
    Hub.ACTIVITY: (
        FieldSpec("userId", "long", minimum=1),
        FieldSpec("sessionId", "long"),
        FieldSpec("activityType", "string", allowed=ACTIVITY_TYPES),
        FieldSpec("confidence", "int", minimum=0, maximum=100),
        FieldSpec("latitude", "double", **_LAT),
        FieldSpec("longitude", "double", **_LON),
        FieldSpec("timestamp", "timestamp"),
        FieldSpec("eventId", "string", required=False),
    ),
    Hub.GEOFENCE: (
        FieldSpec("userId", "long", minimum=1),
        FieldSpec("sessionId", "long"),
        FieldSpec("zoneId", "long"),
        FieldSpec("transition", "string", allowed=TRANSITIONS),
        FieldSpec("latitude", "double", **_LAT),
        FieldSpec("longitude", "double", **_LON),
        FieldSpec("timestamp", "timestamp"),
        FieldSpec("eventId", "string", required=False),
    ),
    Hub.GATE: (
        FieldSpec("eventType", "string", allowed=GATE_EVENT_TYPES),
        FieldSpec("eventId", "string"),
        FieldSpec("timestamp", "timestamp"),
        FieldSpec("zoneId", "long"),
        FieldSpec("gateId", "string", required_for=_ENTRY_EXIT),
        FieldSpec("laneId", "string", required_for=_ENTRY_EXIT),
        FieldSpec("licensePlate", "string", required_for=GATE_EVENT_TYPES),
        FieldSpec("plateConfidence", "double", required_for=_ENTRY_EXIT, minimum=0.0, maximum=1.0),
        FieldSpec("vehicleType", "string", required_for=_ENTRY_EXIT, allowed=VEHICLE_TYPES),
        FieldSpec("imageUrl", "string", required=False),
        FieldSpec("entryEventId", "string", required_for=("VEHICLE_EXIT",)),
        FieldSpec("transactionId", "string", required_for=("PAYMENT",)),
        FieldSpec("amount", "double", required_for=("PAYMENT",), minimum=0.0),
        FieldSpec("currency", "string", required_for=("PAYMENT",)),
        FieldSpec("paymentMethod", "string", required_for=("PAYMENT",), allowed=PAYMENT_METHODS),
        FieldSpec("paymentStatus", "string", required_for=("PAYMENT",), allowed=PAYMENT_STATUSES),
        FieldSpec("parkingDurationMinutes", "int", required_for=("PAYMENT",), minimum=0),
    ),
}


def wire_schema(hub: Hub) -> StructType:
    """Spark schema to parse a hub's JSON body with (timestamps as strings, parsed in silver)."""
    return StructType([StructField(f.name, _KINDS[f.kind], True) for f in CONTRACT[hub]])


def event_type_of(hub: Hub, event: Mapping[str, Any]) -> str | None:
    """The field that selects conditional requirements (gate events' `eventType`)."""
    return event.get("eventType") if hub is Hub.GATE else None


def parse_timestamp(value: str) -> datetime:
    """`2026-11-02T08:15:00.250+08:00` / `...Z` (0-9 fraction digits, a zone required), as UTC.
    Anything else ISO-8601 allows (a space, no seconds, week dates, no zone) is not in the contract."""
    match = _ISO_INSTANT.fullmatch(value)
    if match is None:
        raise ValueError("timestamp is not yyyy-MM-ddTHH:mm:ss[.fraction] with Z or an offset")
    *fields, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = "+00:00" if zone == "Z" else zone
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 18 or minutes > 59:
        raise ValueError("timestamp offset out of range")
    sign = 1 if offset[0] == "+" else -1
    local = datetime(*map(int, fields), micros, tzinfo=UTC)  # raises on a month 13 or a 25th hour
    return local - sign * timedelta(hours=hours, minutes=minutes)


class StrictJsonError(ValueError):
    """A body that is not exactly one JSON object (RFC 8259) without repeated keys."""


def _no_constant(name: str) -> None:
    raise StrictJsonError(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise StrictJsonError("repeated key")
    return dict(pairs)


def load_event(body: str) -> dict[str, Any] | None:
    """The event of a message body, parsed strictly: exactly one JSON object (whitespace around it
    only), no repeated keys, no NaN/Infinity, no single quotes or comments. None when it is not."""
    try:
        event = json.loads(body, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def _present(value: Any) -> bool:
    """Missing: absent, null, or a blank string."""
    return value is not None and not (isinstance(value, str) and _BLANK.fullmatch(value))


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer beyond any double: Spark reads it as Infinity
        return False


def _type_ok(kind: str, value: Any) -> bool:
    if kind in ("long", "int"):
        low, high = _INT_RANGE[kind]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    # Like Spark's JSON reader, a string field accepts a scalar number as its text (not an object,
    # array or boolean).
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def contract_violations(
    hub: Hub,
    event: Mapping[str, Any],
    *,
    now: datetime | None = None,
    zone_ids: frozenset[int] | None = None,
    max_age: timedelta = MAX_EVENT_AGE,
) -> list[str]:
    """Names of the contract rules `event` breaks; empty when it is valid.

    `now` (when the message was enqueued) enables the future and too-old timestamp rules; `zone_ids`
    the unknown-zone rule.
    """
    failed: list[str] = []
    event_type = event_type_of(hub, event)
    if not isinstance(event_type, str) or not _present(event_type):
        event_type = None
    for spec in CONTRACT[hub]:
        value = event.get(spec.name)
        if not _present(value):
            if spec.required_when(event_type):
                failed.append(f"required:{spec.name}")
            continue
        if not _type_ok(spec.kind, value):
            failed.append(f"type:{spec.name}")
            continue
        if spec.allowed is not None and value not in spec.allowed:
            failed.append(f"enum:{spec.name}")
        if (spec.minimum is not None and value < spec.minimum) or (
            spec.maximum is not None and value > spec.maximum
        ) or (spec.kind == "double" and not _finite(value)):
            failed.append(f"range:{spec.name}")
        if spec.kind == "timestamp":
            try:
                ts = parse_timestamp(str(value))
            except (ValueError, OverflowError):
                failed.append("timestamp:unparseable")
            else:
                if now is not None and ts > now + MAX_FUTURE_SKEW:
                    failed.append("timestamp:future")
                if now is not None and ts < now - max_age:
                    failed.append("timestamp:too_old")
    zone = event.get("zoneId")
    if zone_ids is not None and _type_ok("long", zone) and zone not in zone_ids:
        failed.append("reference:zoneId")
    return failed


def body_violations(hub: Hub, body: str, *, now: datetime | None = None, zone_ids: frozenset[int] | None = None,
                    max_age: timedelta = MAX_EVENT_AGE) -> list[str]:
    """The rules a raw message body breaks: `malformed:json` alone when it is not one strict JSON object."""
    event = load_event(body)
    if event is None:
        return ["malformed:json"]
    return contract_violations(hub, event, now=now, zone_ids=zone_ids, max_age=max_age)
