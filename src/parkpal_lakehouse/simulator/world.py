"""Who parks where and when: arrivals, circling, parking, stays and departures, with true occupancy.

Arrivals (app users' trips and, at gated car parks, vehicles without the app) are processed in time
order against each zone's occupancy, so a driver arriving at a nearly full zone circles longer, and
at a full one waits for a space to free or gives up. The result is a list of `Visit`s: what really
happened, from which `phone.py` derives the events and `truth.py` the ground-truth tables.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parkpal_lakehouse.simulator.city import City
from parkpal_lakehouse.simulator.demand import WORKING_DAY_PROFILE, daily_demand
from parkpal_lakehouse.simulator.settings import STAY_CLASSES, SimulationSettings

MANILA = ZoneInfo("Asia/Manila")
# Vehicles without the app arriving per space per hour at the busiest hour, by zone type.
_BACKGROUND_PEAK_RATE = {"STREET": 0.30, "LOT": 0.22, "GARAGE": 0.20}


@dataclass(frozen=True)
class Visit:
    """One vehicle's visit to a zone. Times are epoch seconds (UTC)."""

    visit_id: int
    zone_index: int
    arrived_at: float
    outcome: str  # parked | abandoned | timed_out | no_search
    user_id: int | None = None  # None: a vehicle without the app
    plate: str | None = None
    parked_at: float | None = None
    departs_at: float | None = None  # may lie past the simulated window
    left_at: float | None = None  # abandoned: when the driver exited the zone

    @property
    def circling_seconds(self) -> float | None:
        end = self.parked_at if self.outcome == "parked" else self.left_at
        return None if end is None or self.outcome == "no_search" else end - self.arrived_at


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @staticmethod
    def of(settings: SimulationSettings) -> Window:
        start = datetime.combine(settings.start_date, time(0), MANILA).astimezone(UTC)
        return Window(start.timestamp(), (start + timedelta(days=settings.days)).timestamp())


def stay_seconds(rng: random.Random) -> float:
    r, acc = rng.random(), 0.0
    for share, lo, hi in STAY_CLASSES:
        acc += share
        if r <= acc:
            return rng.uniform(lo, hi) * 60.0
    return rng.uniform(STAY_CLASSES[-1][1], STAY_CLASSES[-1][2]) * 60.0


def circling_seconds(rng: random.Random, occupancy: float, gated: bool) -> float:
    """Search time before a space is found: 0.5-3 min typically, growing steeply above 60% full."""
    base = rng.lognormvariate(math.log(45.0 if gated else 70.0), 0.5)
    crowding = 1.0 + 4.0 * max(0.0, occupancy - 0.6) ** 1.5 / 0.4**1.5
    return max(15.0, base * crowding)


def _arrival_time(rng: random.Random, day_start: float, profile: tuple[float, ...]) -> float:
    hour = rng.choices(range(24), profile)[0]
    return day_start + hour * 3600 + rng.uniform(0, 3600)


def _arrivals(city: City, settings: SimulationSettings, window: Window, rng: random.Random) -> list[tuple]:
    """(time, zone_index, user_id or None, plate or None), sorted by time; each day's demand from
    `demand.daily_demand` (weekday rhythm, holidays, day-to-day level)."""
    out: list[tuple] = []
    plates = city.plates_by_user()
    base_weights = [p * math.sqrt(z.capacity) for p, z in zip(city.popularity, city.zones, strict=True)]
    for day, demand in enumerate(daily_demand(settings.start_date, settings.days, settings.seed)):
        day_start = window.start + day * 86_400
        weights = [w * demand.zone_factor(z.zoneType) for w, z in zip(base_weights, city.zones, strict=True)]
        for user in city.user_ids:
            trips = _poisson(rng, settings.trips_per_user_per_day * demand.trip_factor)
            for _ in range(trips):
                zone = rng.choices(range(len(city.zones)), weights)[0]
                out.append((_arrival_time(rng, day_start, demand.profile), zone, user, plates[user][0]))
        if not settings.background_vehicles:
            continue
        peak = max(WORKING_DAY_PROFILE)
        for zi, zone in enumerate(city.zones):
            scale = _BACKGROUND_PEAK_RATE[zone.zoneType] * zone.capacity * min(city.popularity[zi], 1.6) / 1.6
            scale *= demand.zone_factor(zone.zoneType)
            for hour, weight in enumerate(demand.profile):
                for _ in range(_poisson(rng, scale * weight / peak)):
                    out.append((day_start + hour * 3600 + rng.uniform(0, 3600), zi, None, None))
    out.sort(key=lambda a: (a[0], a[1], a[2] or 0))
    return [a for a in out if window.start + 60 <= a[0] < window.end - 60]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def simulate_visits(city: City, settings: SimulationSettings, rng: random.Random) -> list[Visit]:
    window = Window.of(settings)
    parked: list[list[float]] = [[] for _ in city.zones]  # per zone: heap of departure times
    busy_until: dict[int, float] = {}
    visits: list[Visit] = []
    for t0, zi, user, plate in _arrivals(city, settings, window, rng):
        if user is not None and busy_until.get(user, -math.inf) > t0 - 600:
            continue  # one car, one trip at a time
        zone, heap = city.zones[zi], parked[zi]
        while heap and heap[0] <= t0:
            heapq.heappop(heap)
        vid = len(visits) + 1
        if user is not None and rng.random() < settings.walk_through_rate:
            visits.append(Visit(vid, zi, t0, "no_search", user, plate, left_at=t0 + rng.uniform(90, 240)))
            busy_until[user] = t0 + 300
            continue
        occupancy = len(heap) / zone.capacity
        search = circling_seconds(rng, occupancy, zone.gated)
        patience = rng.uniform(180, 600)
        give_up = rng.random() < 0.03 + 0.25 * max(0.0, occupancy - 0.75) / 0.25
        if len(heap) >= zone.capacity:
            freed = heap[0]
            if freed - t0 + 20 <= patience and not give_up:
                heapq.heappop(heap)
                search = max(search, freed - t0 + rng.uniform(10, 40))
            else:
                give_up, search = True, min(patience, max(search, 120.0))
        if give_up:
            visits.append(Visit(vid, zi, t0, "abandoned", user, plate, left_at=t0 + search))
            if user is not None:
                busy_until[user] = t0 + search + 60
            continue
        parked_at = t0 + search
        departs = parked_at + stay_seconds(rng)
        heapq.heappush(heap, departs)
        silent = user is not None and not zone.gated and rng.random() < settings.silent_phone_rate
        visits.append(
            Visit(vid, zi, t0, "timed_out" if silent else "parked", user, plate, parked_at, departs)
        )
        if user is not None:
            busy_until[user] = departs + 120
    return visits
