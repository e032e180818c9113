"""A Metro Manila-like city: parking zones around business districts, app users with vehicles."""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass

from parkpal_lakehouse.contracts.reference import Vehicle, Zone

_DISTRICTS = (
    ("Makati", 14.5547, 121.0244, ("Ayala Land Parking", "LGU Makati")),
    ("Taguig", 14.5507, 121.0509, ("BGC Parking Corp", "LGU Taguig")),
    ("Pasig", 14.5869, 121.0614, ("Ortigas Parking", "LGU Pasig")),
    ("Quezon City", 14.6760, 121.0437, ("SM Parking", "LGU Quezon City")),
    ("Manila", 14.5995, 120.9842, ("Metro Parking Co", "LGU Manila")),
)
# type: (share, capacity range, radius range in m, hourly rate range in PHP)
_ZONE_TYPES = {
    "STREET": (0.6, (15, 50), (80, 150), (30, 60)),
    "LOT": (0.25, (60, 250), (60, 120), (40, 80)),
    "GARAGE": (0.15, (150, 500), (50, 100), (50, 100)),
}
FIRST_USER_ID = 100_001
FIRST_ZONE_ID = 1


@dataclass(frozen=True)
class City:
    zones: tuple[Zone, ...]
    vehicles: tuple[Vehicle, ...]
    popularity: tuple[float, ...]  # relative demand per zone, same order as zones

    @property
    def user_ids(self) -> list[int]:
        return sorted({v.userId for v in self.vehicles})

    def plates_by_user(self) -> dict[int, list[str]]:
        plates: dict[int, list[str]] = {}
        for v in self.vehicles:
            plates.setdefault(v.userId, []).append(v.licensePlate)
        return plates


def random_plate(rng: random.Random) -> str:
    """Philippine format: three letters and four digits."""
    return "".join(rng.choices(string.ascii_uppercase, k=3)) + " " + "".join(rng.choices(string.digits, k=4))


def offset_position(lat: float, lon: float, distance_m: float, bearing: float) -> tuple[float, float]:
    dlat = distance_m * math.cos(bearing) / 111_320.0
    dlon = distance_m * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def make_city(n_zones: int, n_users: int, rng: random.Random) -> City:
    zones: list[Zone] = []
    kinds = list(_ZONE_TYPES)
    weights = [_ZONE_TYPES[k][0] for k in kinds]
    for i in range(n_zones):
        city, lat0, lon0, operators = _DISTRICTS[i % len(_DISTRICTS)]
        kind = rng.choices(kinds, weights)[0]
        _, cap, radius, rate = _ZONE_TYPES[kind]
        lat, lon = offset_position(lat0, lon0, rng.uniform(0, 2500), rng.uniform(0, 2 * math.pi))
        zones.append(
            Zone(
                zoneId=FIRST_ZONE_ID + i,
                name=f"{city} {kind.title()} {i + 1}",
                city=city,
                zoneType=kind,
                operator=operators[0] if kind != "STREET" else operators[1],
                capacity=rng.randint(*cap),
                latitude=round(lat, 6),
                longitude=round(lon, 6),
                radiusM=float(rng.randint(*radius)),
                hourlyRate=float(rng.randrange(rate[0], rate[1] + 1, 5)),
                currency="PHP",
            )
        )
    vehicles: list[Vehicle] = []
    plates: set[str] = set()
    for u in range(n_users):
        for _ in range(2 if rng.random() < 0.1 else 1):
            plate = random_plate(rng)
            while plate in plates:
                plate = random_plate(rng)
            plates.add(plate)
            vehicles.append(Vehicle(userId=FIRST_USER_ID + u, licensePlate=plate))
    popularity = tuple(rng.lognormvariate(0.0, 0.6) for _ in zones)
    return City(tuple(zones), tuple(vehicles), popularity)
