"""A small simulated city and its landing files, classified line by line with the Python contract."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from parkpal_lakehouse.contracts.events import Hub, contract_violations, parse_timestamp
from parkpal_lakehouse.contracts.reference import load_vehicles, load_zones
from parkpal_lakehouse.simulator.run import SimulationReport, simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import load_truth

# A working day of ordinary demand (Wednesday): the default first day, 2026-11-02, is All Souls' Day.
SMALL_CITY = SimulationSettings(seed=3, zones=8, users=400, days=1, start_date=date(2026, 11, 4))


@dataclass
class Landed:
    """Every landing line of one simulated city, classified by the contract."""

    valid: dict[Hub, list[dict]] = field(default_factory=lambda: defaultdict(list))
    duplicates: Counter = field(default_factory=Counter)
    malformed: Counter = field(default_factory=Counter)
    invalid: Counter = field(default_factory=Counter)
    invalid_rules: Counter = field(default_factory=Counter)


def classify_landing(root: Path, window_end: float) -> Landed:
    zone_ids = frozenset(z.zoneId for z in load_zones(root / "reference" / "zones.csv"))
    now = datetime.fromtimestamp(window_end, UTC)
    landed = Landed()
    for hub in Hub:
        seen: set[str] = set()
        for path in sorted((root / "landing" / hub.value).rglob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    event = None
                if not isinstance(event, dict):
                    landed.malformed[hub] += 1
                    continue
                failed = contract_violations(hub, event, now=now, zone_ids=zone_ids)
                if failed:
                    landed.invalid[hub] += 1
                    landed.invalid_rules.update(f"{hub.value}/{rule}" for rule in failed)
                elif line in seen:
                    landed.duplicates[hub] += 1
                else:
                    seen.add(line)
                    event["_ts"] = parse_timestamp(event["timestamp"]).timestamp()
                    landed.valid[hub].append(event)
    return landed


@dataclass(frozen=True)
class SimulatedCity:
    root: Path
    report: SimulationReport
    landed: Landed
    searches: object
    occupancy: object
    manifest: dict
    plates: dict[int, set[str]]


def build_small_city(root: Path) -> SimulatedCity:
    report = simulate(SMALL_CITY, root)
    searches, occupancy, manifest = load_truth(root / "truth")
    plates: dict[int, set[str]] = defaultdict(set)
    for v in load_vehicles(root / "reference" / "vehicles.csv"):
        plates[v.userId].add(v.licensePlate)
    landed = classify_landing(root, manifest["window_end"])
    return SimulatedCity(root, report, landed, searches, occupancy, manifest, plates)
