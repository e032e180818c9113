"""Reference data: parking zones, the vehicles registered to app users, and street counts.

`street_counts.csv` (optional) holds manual counts of the vehicles parked in a street zone at an
instant (the parking surveys cities run); gold calibrates the street all-driver estimate with them.

Shipped as CSV under the package (`contracts/reference/`), written by the simulator for the city it
makes, and loadable from any path. Columns are camelCase like the events; Spark loaders rename to
snake_case.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from importlib import resources
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.errors import EventContractError

ZONE_TYPES = ("STREET", "LOT", "GARAGE")
GATED_ZONE_TYPES = ("LOT", "GARAGE")

ZONES_DDL = (
    "zone_id BIGINT, name STRING, city STRING, zone_type STRING, operator STRING, capacity INT, "
    "latitude DOUBLE, longitude DOUBLE, radius_m DOUBLE, hourly_rate DOUBLE, currency STRING"
)
VEHICLES_DDL = "user_id BIGINT, license_plate STRING"
STREET_COUNTS_DDL = "zone_id BIGINT, counted_at TIMESTAMP, vehicles INT"


@dataclass(frozen=True)
class Zone:
    zoneId: int  # noqa: N815 - CSV header names, camelCase like the events
    name: str
    city: str
    zoneType: str  # noqa: N815
    operator: str
    capacity: int
    latitude: float
    longitude: float
    radiusM: float  # noqa: N815
    hourlyRate: float  # noqa: N815
    currency: str

    @property
    def gated(self) -> bool:
        return self.zoneType in GATED_ZONE_TYPES

    def distance_m(self, latitude: float, longitude: float) -> float:
        return haversine_m(self.latitude, self.longitude, latitude, longitude)


@dataclass(frozen=True)
class Vehicle:
    userId: int  # noqa: N815
    licensePlate: str  # noqa: N815


@dataclass(frozen=True)
class StreetCount:
    zoneId: int  # noqa: N815
    countedAt: str  # noqa: N815 - an instant with its offset, e.g. 2026-11-04T10:30:00+08:00
    vehicles: int


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def sample_reference_dir() -> Path:
    return Path(str(resources.files("parkpal_lakehouse.contracts").joinpath("reference")))


def _read_rows(path: Path, cls: type) -> list:
    if not path.is_file():
        raise EventContractError(f"reference file not found: {path}")
    types = {f.name: f.type for f in fields(cls)}
    casts = {"int": int, "float": float, "str": str}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(types) - set(reader.fieldnames or [])
        if missing:
            raise EventContractError(f"{path} lacks columns: {', '.join(sorted(missing))}")
        try:
            return [cls(**{k: casts[types[k]](row[k]) for k in types}) for row in reader]
        except ValueError as exc:
            raise EventContractError(f"{path}: bad value ({exc})") from exc


def load_zones(path: str | Path | None = None) -> list[Zone]:
    zones = _read_rows(Path(path) if path else sample_reference_dir() / "zones.csv", Zone)
    bad = [z.zoneId for z in zones if z.zoneType not in ZONE_TYPES or z.capacity <= 0]
    if bad:
        raise EventContractError(f"zones with unknown type or non-positive capacity: {bad[:5]}")
    return zones


def load_vehicles(path: str | Path | None = None) -> list[Vehicle]:
    return _read_rows(Path(path) if path else sample_reference_dir() / "vehicles.csv", Vehicle)


def write_csv(rows: list, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not rows:
        raise EventContractError(f"refusing to write an empty reference file {path}")
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)


def zones_df(spark: SparkSession, path: str | Path | None = None) -> DataFrame:
    """One row per parking zone, snake_case columns."""
    return spark.createDataFrame([tuple(asdict(z).values()) for z in load_zones(path)], ZONES_DDL)


def vehicles_df(spark: SparkSession, path: str | Path | None = None) -> DataFrame:
    """One row per vehicle registered to an app user."""
    return spark.createDataFrame([tuple(asdict(v).values()) for v in load_vehicles(path)], VEHICLES_DDL)


def load_street_counts(path: Path) -> list[tuple[int, datetime, int]]:
    """`street_counts.csv` as (zone_id, counted_at UTC, vehicles); a missing file is no counts."""
    from parkpal_lakehouse.contracts.events import parse_timestamp

    if not path.is_file():
        return []
    out = []
    for row in _read_rows(path, StreetCount):
        try:
            counted = parse_timestamp(row.countedAt)
        except ValueError as exc:
            raise EventContractError(f"{path}: countedAt {row.countedAt!r}: {exc}") from exc
        if row.vehicles < 0:
            raise EventContractError(f"{path}: vehicles must be >= 0, not {row.vehicles}")
        out.append((row.zoneId, counted, row.vehicles))
    return out
