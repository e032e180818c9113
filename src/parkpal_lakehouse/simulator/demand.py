"""How much parking demand each day brings: the week's rhythm, Philippine holidays and the weather.

Working days follow the commuter profile (peaks 8-9 and 16-17); Saturdays, Sundays and public
holidays follow a shopping profile (late morning to evening). Street parking in the business
districts empties on those days while mall car parks (garages, lots) fill. On top, a city-wide
day-to-day level (rain, events, paydays...) moves demand by a few percent and persists for some days
(an AR(1) process): what a forecaster can partly read from the last hours and days, and a mean per
weekday and hour cannot.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from parkpal_lakehouse.holiday_calendar import philippine_holidays

# Share of the day's trips that start in each local hour (Asia/Manila).
WORKING_DAY_PROFILE: tuple[float, ...] = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1.0, 2.2, 3.6, 3.4, 2.2, 2.0,
    2.3, 2.1, 1.9, 2.2, 3.3, 3.5, 2.4, 1.8, 1.4, 1.0, 0.6, 0.3,
)
REST_DAY_PROFILE: tuple[float, ...] = (
    0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.4, 2.0, 2.6, 3.0,
    3.2, 3.0, 2.8, 2.8, 2.9, 3.0, 2.8, 2.4, 1.8, 1.2, 0.8, 0.5,
)


class DayKind(StrEnum):
    WORKING = "working"
    SATURDAY = "saturday"
    SUNDAY_OR_HOLIDAY = "sunday_or_holiday"


# Demand relative to a working day, by zone type.
ZONE_DAY_FACTOR: dict[str, dict[DayKind, float]] = {
    "STREET": {DayKind.WORKING: 1.0, DayKind.SATURDAY: 0.7, DayKind.SUNDAY_OR_HOLIDAY: 0.5},
    "LOT": {DayKind.WORKING: 1.0, DayKind.SATURDAY: 1.1, DayKind.SUNDAY_OR_HOLIDAY: 0.95},
    "GARAGE": {DayKind.WORKING: 1.0, DayKind.SATURDAY: 1.3, DayKind.SUNDAY_OR_HOLIDAY: 1.25},
}
# App users' trips per day relative to a working day.
TRIP_DAY_FACTOR: dict[DayKind, float] = {DayKind.WORKING: 1.0, DayKind.SATURDAY: 0.9,
                                         DayKind.SUNDAY_OR_HOLIDAY: 0.8}
# The day-to-day level: log-level AR(1) with this persistence and innovation.
LEVEL_PERSISTENCE = 0.8
LEVEL_SIGMA = 0.12
# The app's user base grows: app users' trips per day, relative to ADOPTION_ANCHOR, per week.
ADOPTION_ANCHOR = date(2026, 11, 2)
ADOPTION_GROWTH_PER_WEEK = 0.03


def day_kind(day: date) -> DayKind:
    if day.isoweekday() == 7 or day in philippine_holidays(day.year):
        return DayKind.SUNDAY_OR_HOLIDAY
    if day.isoweekday() == 6:
        return DayKind.SATURDAY
    return DayKind.WORKING


def hourly_profile(kind: DayKind) -> tuple[float, ...]:
    return WORKING_DAY_PROFILE if kind is DayKind.WORKING else REST_DAY_PROFILE


@dataclass(frozen=True)
class DayDemand:
    day: date
    kind: DayKind
    level: float  # multiplies every arrival rate of the day; mean 1

    @property
    def adoption(self) -> float:
        """App users' activity relative to ADOPTION_ANCHOR (the app is growing)."""
        weeks = (self.day - ADOPTION_ANCHOR).days / 7
        return min(3.0, max(0.3, math.exp(ADOPTION_GROWTH_PER_WEEK * weeks)))

    def zone_factor(self, zone_type: str) -> float:
        return ZONE_DAY_FACTOR[zone_type][self.kind] * self.level

    @property
    def trip_factor(self) -> float:
        return TRIP_DAY_FACTOR[self.kind] * self.level * self.adoption

    @property
    def profile(self) -> tuple[float, ...]:
        return hourly_profile(self.kind)


def daily_demand(first: date, days: int, seed: int) -> list[DayDemand]:
    """One `DayDemand` per day from `first`. The level process is seeded by the calendar date, so a
    history ending where a window starts and the window itself see one continuous weather."""
    rng = random.Random(f"{seed}-level")
    # Start the process far enough back that the level on `first` does not depend on it being first.
    origin = date(2020, 1, 1)
    burn_in = (first - origin).days
    if burn_in < 0:
        raise ValueError(f"simulated days start on or after {origin}, not {first}")
    log_level, out = 0.0, []
    stationary_var = LEVEL_SIGMA**2 / (1 - LEVEL_PERSISTENCE**2)
    for i in range(burn_in + days):
        log_level = LEVEL_PERSISTENCE * log_level + rng.gauss(0.0, LEVEL_SIGMA)
        if i >= burn_in:
            day = first + timedelta(days=i - burn_in)
            out.append(DayDemand(day, day_kind(day), math.exp(log_level - stationary_var / 2)))
    return out
