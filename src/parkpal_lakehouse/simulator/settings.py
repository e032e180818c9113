"""What to simulate: the city's size, the days, driver behaviour, and the noise on the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from parkpal_lakehouse.errors import ConfigError

# Stays: 10% short (5-15 min), 60% medium (1-3 h), 30% long (8-10 h), in minutes.
STAY_CLASSES: tuple[tuple[float, float, float], ...] = ((0.10, 5, 15), (0.60, 60, 180), (0.30, 480, 600))


@dataclass(frozen=True)
class NoiseSettings:
    """Rates of what goes wrong between phone/gate and Event Hubs. All zero: a perfect wire."""

    duplicate_rate: float = 0.01
    late_rate: float = 0.005
    late_minutes: tuple[float, float] = (10.0, 45.0)
    # Network delay per event (seconds, lognormal median); gives out-of-order arrival within seconds.
    delay_median_s: float = 1.5
    gps_jitter_m: float = 8.0
    # Per trip: a spurious geofence EXIT+ENTER pair, and a single low-confidence reading in a STILL run.
    geofence_flap_rate: float = 0.05
    activity_flap_rate: float = 0.10
    malformed_rate: float = 0.001
    invalid_rate: float = 0.002

    @staticmethod
    def off() -> NoiseSettings:
        return NoiseSettings(0.0, 0.0, (10.0, 45.0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


DEVICE_PROFILES = ("platform", "chatty")


@dataclass(frozen=True)
class PlatformPhone:
    """How phones behave under the platform profile (docs/simulator.md, "Phones as the platforms
    document them"). Rates are of the world, not of our rules; the rules never read them."""

    # Geofence alerts reach the app late (Android: usually within two minutes): lognormal median, cap.
    geofence_latency_median_s: float = 15.0
    geofence_latency_max_s: float = 120.0
    # Share of geofence transitions the OS never reports.
    missed_geofence_rate: float = 0.003
    # While circling: a confident STILL at a red light / behind a turning car (5-19 s), per search.
    red_light_rate: float = 0.3
    # Just before the real stop: a STILL below the confident threshold (the car crawling into the space).
    unsure_still_rate: float = 0.15
    # After parking: the driver walks (WALKING/ON_FOOT reported), and walks out of the zone.
    walk_away_rate: float = 0.85
    walk_out_of_zone_rate: float = 0.6
    # Leaving: stuck in the exit queue (STILL a few seconds after the drive began).
    exit_queue_rate: float = 0.15


@dataclass(frozen=True)
class SimulationSettings:
    seed: int = 42
    start_date: date = date(2026, 11, 2)
    days: int = 1
    zones: int = 50
    users: int = 5_000
    trips_per_user_per_day: float = 1.1
    # Vehicles that use gated car parks without the app (their gate events still arrive).
    background_vehicles: bool = True
    # Share of geofence entries made on foot (no search), and of searches whose phone goes silent.
    walk_through_rate: float = 0.03
    silent_phone_rate: float = 0.005
    # "platform": phones report activity transitions only, parked phones are silent, geofence alerts are
    # late and sometimes missed, timestamps are local to the second. "chatty": readings every
    # `activity_interval_s` and a STILL heartbeat every `parked_heartbeat_s` while parked (the first
    # simulator's phones, which no platform promises).
    device: str = "platform"
    platform: PlatformPhone = field(default_factory=PlatformPhone)
    activity_interval_s: float = 10.0
    parked_heartbeat_s: float = 900.0
    landing_file_minutes: int = 15
    # Manual counts of the vehicles parked in each street zone per day (reference/street_counts.csv).
    street_surveys_per_day: int = 2
    noise: NoiseSettings = field(default_factory=NoiseSettings)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ConfigError(f"--days must be at least 1, not {self.days}")
        if self.zones < 1 or self.users < 1:
            raise ConfigError("--zones and --users must be at least 1")
        if self.device not in DEVICE_PROFILES:
            raise ConfigError(f"--device must be one of {', '.join(DEVICE_PROFILES)}, not {self.device!r}")
        if not 1 <= self.landing_file_minutes <= 60 or 60 % self.landing_file_minutes:
            raise ConfigError("landing_file_minutes must divide 60")
