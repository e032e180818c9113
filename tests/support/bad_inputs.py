"""A corpus of hostile and careless message bodies, each with the verdict the contract gives it.

Written by hand from the contract (docs/event-contract.md), not from what the code does: every kind is
one way a producer can get JSON or a field wrong. `ENQUEUED` is when they all arrived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from parkpal_lakehouse.contracts.events import Hub

ENQUEUED = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
ACTIVITY = {"userId": 100001, "sessionId": 7, "activityType": "STILL", "confidence": 80, "latitude": 14.55,
            "longitude": 121.02, "timestamp": "2026-11-02T08:00:00Z", "eventId": "act-1"}
GATE = {"eventType": "PAYMENT", "eventId": "pay-1", "timestamp": "2026-11-02T08:00:00.250+08:00", "zoneId": 1,
        "transactionId": "t-1", "licensePlate": "ABC 1234", "amount": 40.0, "currency": "PHP",
        "paymentMethod": "CASH", "paymentStatus": "COMPLETED", "parkingDurationMinutes": 30}


@dataclass(frozen=True)
class BadInput:
    kind: str
    hub: Hub
    body: str
    rules: tuple[str, ...]


def _with(base: dict, **changes) -> str:
    event = {**base, **changes}
    return json.dumps({k: v for k, v in event.items() if v is not _DROP})


_DROP = object()
_A, _G = Hub.ACTIVITY, Hub.GATE
_VALID_A, _VALID_G = json.dumps(ACTIVITY), json.dumps(GATE)
MALFORMED = ("malformed:json",)

CORPUS: list[BadInput] = [
    # -- not one JSON object -------------------------------------------------------------------------
    BadInput("empty line", _A, "", MALFORMED),
    BadInput("whitespace only", _A, "   ", MALFORMED),
    BadInput("plain text", _A, "hello parkpal", MALFORMED),
    BadInput("truncated object", _A, _VALID_A[:-5], MALFORMED),
    BadInput("trailing garbage", _A, _VALID_A + " xyz", MALFORMED),
    BadInput("two objects on one line", _A, _VALID_A + _with(ACTIVITY, eventId="act-2"), MALFORMED),
    BadInput("two objects with a comma", _A, _VALID_A + "," + _with(ACTIVITY, eventId="act-3"), MALFORMED),
    BadInput("object then null", _A, _VALID_A + ", null", MALFORMED),
    BadInput("a JSON array of the event", _A, f"[{_VALID_A}]", MALFORMED),
    BadInput("a JSON string", _A, json.dumps(_VALID_A), MALFORMED),
    BadInput("a JSON number", _A, "42", MALFORMED),
    BadInput("JSON null", _A, "null", MALFORMED),
    BadInput("JSON true", _A, "true", MALFORMED),
    BadInput("single quotes", _A, _VALID_A.replace('"', "'"), MALFORMED),
    BadInput("repeated key", _A, _VALID_A[:-1] + ', "userId": 100002}', MALFORMED),
    BadInput("bare NaN", _G, _VALID_G.replace("40.0", "NaN"), MALFORMED),
    BadInput("bare Infinity", _G, _VALID_G.replace("40.0", "Infinity"), MALFORMED),
    BadInput("a comment", _A, _VALID_A[:-1] + " /* x */}", MALFORMED),
    BadInput("unquoted key", _A, _VALID_A.replace('"confidence"', "confidence"), MALFORMED),
    BadInput("leading zeros", _A, _VALID_A.replace('"confidence": 80', '"confidence": 080'), MALFORMED),
    BadInput("raw control character in a string", _A, _VALID_A.replace("act-1", "act\u0001-1"), MALFORMED),
    BadInput("trailing comma", _A, _VALID_A[:-1] + ",}", MALFORMED),
    # -- a field of the wrong kind -------------------------------------------------------------------
    BadInput("number as a string", _A, _with(ACTIVITY, userId="100001"), ("type:userId",)),
    BadInput("number with a fraction for a long", _A, _with(ACTIVITY, sessionId=7.5), ("type:sessionId",)),
    BadInput("long beyond 64 bits", _A, _with(ACTIVITY, userId=2**64), ("type:userId",)),
    BadInput("int beyond 32 bits", _A, _with(ACTIVITY, confidence=2**31), ("type:confidence",)),
    BadInput("boolean for a number", _A, _with(ACTIVITY, confidence=True), ("type:confidence",)),
    BadInput("object in a string field", _A, _with(ACTIVITY, eventId={"id": 1}), ("type:eventId",)),
    BadInput("array in a string field", _A, _with(ACTIVITY, activityType=["STILL"]), ("type:activityType",)),
    BadInput("boolean in a string field", _G, _with(GATE, licensePlate=True), ("type:licensePlate",)),
    BadInput("object as the timestamp", _A, _with(ACTIVITY, timestamp={"t": 1}), ("type:timestamp",)),
    BadInput("NaN as a string amount", _G, _with(GATE, amount="NaN"), ("type:amount",)),
    BadInput("Infinity as a string amount", _G, _with(GATE, amount="Infinity"), ("type:amount",)),
    # -- blank means missing -------------------------------------------------------------------------
    BadInput("empty required string", _G, _with(GATE, licensePlate=""), ("required:licensePlate",)),
    BadInput("blank required string", _G, _with(GATE, transactionId=" \t "), ("required:transactionId",)),
    BadInput("empty event id at the gate", _G, _with(GATE, eventId=""), ("required:eventId",)),
    BadInput("blank timestamp", _A, _with(ACTIVITY, timestamp="  "), ("required:timestamp",)),
    BadInput("null required field", _A, _with(ACTIVITY, userId=None), ("required:userId",)),
    BadInput("missing required field", _A, _with(ACTIVITY, activityType=_DROP), ("required:activityType",)),
    BadInput("blank string for a number", _A, _with(ACTIVITY, confidence=""), ("required:confidence",)),
    # -- values out of range -------------------------------------------------------------------------
    BadInput("overflowing double", _G, _VALID_G.replace("40.0", "1e400"), ("range:amount",)),
    BadInput("huge integer amount", _G, _VALID_G.replace("40.0", "1" + "0" * 400), ("range:amount",)),
    BadInput("negative amount", _G, _with(GATE, amount=-1.0), ("range:amount",)),
    BadInput("latitude off the globe", _A, _with(ACTIVITY, latitude=91.0), ("range:latitude",)),
    BadInput("confidence over 100", _A, _with(ACTIVITY, confidence=101), ("range:confidence",)),
    BadInput("user id zero", _A, _with(ACTIVITY, userId=0), ("range:userId",)),
    BadInput("unknown activity", _A, _with(ACTIVITY, activityType="FLYING"), ("enum:activityType",)),
    BadInput("lower-case enum", _A, _with(ACTIVITY, activityType="still"), ("enum:activityType",)),
    BadInput("unknown zone", _G, _with(GATE, zoneId=999999), ("reference:zoneId",)),
    # -- timestamps ------------------------------------------------------------------------------------
    BadInput("timestamp without a zone", _A, _with(ACTIVITY, timestamp="2026-11-02T08:00:00"),
             ("timestamp:unparseable",)),
    BadInput("timestamp with a space", _A, _with(ACTIVITY, timestamp="2026-11-02 08:00:00Z"),
             ("timestamp:unparseable",)),
    BadInput("timestamp without seconds", _A, _with(ACTIVITY, timestamp="2026-11-02T08:00Z"),
             ("timestamp:unparseable",)),
    BadInput("no such day", _A, _with(ACTIVITY, timestamp="2026-02-30T08:00:00Z"), ("timestamp:unparseable",)),
    BadInput("hour 24", _A, _with(ACTIVITY, timestamp="2026-11-02T24:00:00Z"), ("timestamp:unparseable",)),
    BadInput("full-width digits in the timestamp", _A,
             _with(ACTIVITY, timestamp="\uff12\uff10\uff12\uff16-11-02T08:00:00Z"), ("timestamp:unparseable",)),
    BadInput("epoch number as timestamp", _A, _with(ACTIVITY, timestamp=1793606400), ("timestamp:unparseable",)),
    BadInput("an hour in the future", _A, _with(ACTIVITY, timestamp="2026-11-02T09:30:00Z"), ("timestamp:future",)),
    BadInput("dated 1900", _A, _with(ACTIVITY, timestamp="1900-01-01T00:00:00Z"), ("timestamp:too_old",)),
    BadInput("dated 1970 (a clock reset)", _G, _with(GATE, timestamp="1970-01-01T00:00:00Z"), ("timestamp:too_old",)),
    # -- several at once ------------------------------------------------------------------------------
    BadInput("an empty object", _A, "{}", ("required:userId", "required:sessionId", "required:activityType",
                                           "required:confidence", "required:latitude", "required:longitude",
                                           "required:timestamp")),
    BadInput("an object for a number", _A, _with(ACTIVITY, userId={}), ("type:userId",)),
    BadInput("payment without its fields", _G, _with(GATE, transactionId=_DROP, amount=_DROP),
             ("required:transactionId", "required:amount")),
    BadInput("a blank string beside a number sent as a string", _A, _with(ACTIVITY, userId="100001", activityType="  "),
             ("type:userId", "required:activityType")),
    BadInput("a blank plate beside an amount sent as a string", _G, _with(GATE, amount="12", licensePlate=" "),
             ("type:amount", "required:licensePlate")),
]
VALID = [
    (_A, _VALID_A), (_G, _VALID_G),
    (_A, _with(ACTIVITY, eventId="act-no-id-blank", latitude=14.0)),
    (_A, _with(ACTIVITY, eventId=" ", sessionId=8)),  # a blank optional id is no id: natural key
    (_A, _with(ACTIVITY, eventId=_DROP, sessionId=9, confidence=0)),
    (_G, _with(GATE, eventId="pay-2", amount=0, timestamp="2026-11-02T08:05:00.123456789Z")),
    (_G, "  " + _with(GATE, eventId="pay-3") + " \r"),  # whitespace around the object is allowed
    (_A, _with(ACTIVITY, eventId="act-old", timestamp="2026-10-20T08:00:00+08:00")),  # 13 days late: fine
    # Unicode's line and paragraph separators and NEL are not the contract's blank characters: a string of
    # one is a value (a regular expression's `$` matches before them: Spark once took them for blank).
    (_G, _with(GATE, eventId="pay-4", transactionId="\u2028")),  # sent escaped
    (_A, json.dumps({**ACTIVITY, "eventId": "\u0085"}, ensure_ascii=False)),  # sent as the raw character
    (_A, json.dumps({**ACTIVITY, "eventId": " \u2029", "sessionId": 10}, ensure_ascii=False)),
]
