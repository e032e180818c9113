"""From clean events to what arrives at Event Hubs: delays, late arrivals, duplicates, bad records.

Noise never removes or alters a real event: duplicates, malformed lines and invalid records are
*extra* deliveries, so the ground truth stays exact and the balance
`received = valid unique + duplicates + malformed + invalid` holds per hub (see `WireStats`).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.simulator.emitters import Event
from parkpal_lakehouse.simulator.settings import NoiseSettings

_PH = timezone(timedelta(hours=8))
_MALFORMED = ('{"userId": 100001, "activityType": "STI', "not json at all", "[]", '{"zoneId": }', '"just a string"')


@dataclass(frozen=True, order=True)
class Delivery:
    """One message as Event Hubs receives it."""

    arrived_at: float
    seq: int
    hub: Hub = field(compare=False)
    key: str = field(compare=False)
    body: str = field(compare=False)


@dataclass
class WireStats:
    """Per hub: what was sent, and how the noise added to it. Feeds the truth manifest."""

    events: Counter = field(default_factory=Counter)
    duplicates: Counter = field(default_factory=Counter)
    late: Counter = field(default_factory=Counter)
    malformed: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)
    invalid_rules: Counter = field(default_factory=Counter)

    def received(self, hub: Hub) -> int:
        return self.events[hub] + self.duplicates[hub] + self.malformed[hub] + self.invalid[hub]

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for hub in Hub:
            out[hub.value] = {
                "events": self.events[hub], "duplicates": self.duplicates[hub], "late": self.late[hub],
                "malformed": self.malformed[hub], "invalid": self.invalid[hub], "received": self.received(hub),
            }
        out["invalid_rules"] = dict(sorted(self.invalid_rules.items()))
        return out


def format_timestamp(ts: float, hub: Hub, clock: str = "utc_ms") -> str:
    """Phones send UTC with `Z` and milliseconds (`utc_ms`) or local time to the second (`local_s`, as
    the platform profile's phones do); gate controllers send Manila local time with `+08:00`."""
    tz = _PH if hub is Hub.GATE or clock == "local_s" else UTC
    text = datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds" if clock == "local_s" else "milliseconds")
    return text.replace("+00:00", "Z")


def encode(event: Event) -> str:
    body = {**event.body, "timestamp": format_timestamp(event.ts, event.hub, event.clock)}
    return json.dumps(body, separators=(",", ":"))


def _corrupt(hub: Hub, body: dict[str, Any], rng: random.Random, end: float) -> tuple[dict[str, Any], str]:
    """A copy of `body` that breaks exactly one contract rule, and that rule's name."""
    bad = dict(body)
    if "eventId" in bad:
        bad["eventId"] = "bad-" + str(bad["eventId"])
    options: list[tuple[str, Any]]
    if hub is Hub.ACTIVITY:
        options = [("range:confidence", ("confidence", 150)), ("enum:activityType", ("activityType", "FLYING")),
                   ("required:userId", ("userId", None)), ("range:latitude", ("latitude", 123.4))]
    elif hub is Hub.GEOFENCE:
        options = [("enum:transition", ("transition", "INSIDE")), ("reference:zoneId", ("zoneId", 999_999)),
                   ("required:timestamp", ("timestamp", None)), ("range:longitude", ("longitude", -200.0))]
    elif body.get("eventType") == "PAYMENT":
        options = [("range:amount", ("amount", -50.0)), ("enum:paymentStatus", ("paymentStatus", "MAYBE")),
                   ("reference:zoneId", ("zoneId", 999_999))]
    else:
        options = [("range:plateConfidence", ("plateConfidence", 1.7)), ("enum:vehicleType", ("vehicleType", "BUS")),
                   ("reference:zoneId", ("zoneId", 999_999))]
    options.append(("timestamp:future", ("timestamp", end + 2 * 86_400)))
    rule, (name, value) = rng.choice(options)
    if value is None:
        bad.pop(name, None)
    else:
        bad[name] = value
    return bad, rule


def deliveries(events: list[Event], noise: NoiseSettings, rng: random.Random, end: float) -> tuple[
    list[Delivery], WireStats
]:
    """Every message Event Hubs receives, in arrival order, and the noise statistics."""
    stats = WireStats()
    out: list[Delivery] = []

    def add(at: float, hub: Hub, key: str, body: str) -> None:
        out.append(Delivery(at, len(out), hub, key, body))

    for ev in events:
        stats.events[ev.hub] += 1
        delay = rng.lognormvariate(0.0, 0.8) * noise.delay_median_s if noise.delay_median_s > 0 else 0.0
        if rng.random() < noise.late_rate:
            delay = 60 * rng.uniform(*noise.late_minutes)
            stats.late[ev.hub] += 1
        delay += ev.held_s
        text = encode(ev)
        add(ev.ts + delay, ev.hub, ev.key, text)
        if rng.random() < noise.duplicate_rate:
            add(ev.ts + delay + rng.uniform(0.5, 60), ev.hub, ev.key, text)
            stats.duplicates[ev.hub] += 1
        if rng.random() < noise.invalid_rate:
            bad, rule = _corrupt(ev.hub, ev.body, rng, end)
            if "timestamp" in bad:
                bad["timestamp"] = format_timestamp(bad["timestamp"], ev.hub, ev.clock)
            add(ev.ts + delay + rng.uniform(0, 5), ev.hub, ev.key, json.dumps(bad, separators=(",", ":")))
            stats.invalid[ev.hub] += 1
            stats.invalid_rules[f"{ev.hub.value}/{rule}"] += 1
        if rng.random() < noise.malformed_rate:
            add(ev.ts + delay + rng.uniform(0, 5), ev.hub, ev.key, rng.choice(_MALFORMED))
            stats.malformed[ev.hub] += 1
    out.sort()
    return out, stats
