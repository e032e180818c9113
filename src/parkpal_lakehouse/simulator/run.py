"""`simulate()`: a city, its days of parking, the messages on the wire, and the ground truth."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from parkpal_lakehouse.contracts.reference import write_csv
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.simulator.city import make_city
from parkpal_lakehouse.simulator.devices import PlatformEmitter
from parkpal_lakehouse.simulator.emitters import Emitter, Event
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.sinks import LandingSink, Sink, paced
from parkpal_lakehouse.simulator.truth import (
    TrueSearch,
    searches_frame,
    stays_frame,
    street_counts,
    true_search,
    write_truth,
    zone_occupancy_hourly,
)
from parkpal_lakehouse.simulator.wire import Delivery, WireStats, deliveries
from parkpal_lakehouse.simulator.world import Window, simulate_visits


@dataclass
class SimulationReport:
    root: Path
    events: int
    messages: int
    searches: int
    seconds: float
    stats: WireStats
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class SimulatedCity:
    """Everything simulated, before it is sent anywhere."""

    events: list[Event]
    messages: list[Delivery]
    stats: WireStats
    searches: list[TrueSearch]


def generate(settings: SimulationSettings, root: Path) -> SimulatedCity:
    """Simulate in memory and write reference data and ground truth under `root`."""
    # Separate random streams, so switching noise off does not change who parks where.
    world_rng, emit_rng, wire_rng = (random.Random(f"{settings.seed}-{part}") for part in ("world", "emit", "wire"))
    window = Window.of(settings)
    city = make_city(settings.zones, settings.users, world_rng)
    visits = simulate_visits(city, settings, world_rng)
    phones = PlatformEmitter if settings.device == "platform" else Emitter
    emitter = phones(city.zones, settings, emit_rng, window.end)
    events: list[Event] = []
    searches: list[TrueSearch] = []
    for visit in visits:
        zone = city.zones[visit.zone_index]
        if visit.user_id is None:
            events += emitter.background_visit(visit).events
            continue
        emitted = emitter.app_visit(visit)
        events += emitted.events
        searches.append(true_search(visit, zone, emitted.app_session_id or 0, emitted.confirmed_at, window))
    events.sort(key=lambda e: e.ts)
    messages, stats = deliveries(events, settings.noise, wire_rng, window.end)
    write_csv(list(city.zones), root / "reference" / "zones.csv")
    write_csv(list(city.vehicles), root / "reference" / "vehicles.csv")
    surveys = street_counts(visits, city.zones, window, settings.street_surveys_per_day,
                            random.Random(f"{settings.seed}-survey"))
    if surveys:
        write_csv(surveys, root / "reference" / "street_counts.csv")
    manifest = {
        "seed": settings.seed, "start_date": settings.start_date.isoformat(), "days": settings.days,
        "zones": settings.zones, "users": settings.users, "device": settings.device, "window_start": window.start,
        "window_end": window.end, "wire": stats.as_dict(),
        "searches_by_outcome": _count(s.outcome for s in searches),
    }
    write_truth(root / "truth", searches_frame(searches), zone_occupancy_hourly(visits, city.zones, window),
                manifest, stays_frame(visits, city.zones))
    return SimulatedCity(events, messages, stats, searches)


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


def simulate(
    settings: SimulationSettings,
    root: Path,
    sink: Sink | None = None,
    rate: float | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> SimulationReport:
    """Simulate and send every message to `sink` (landing files under `root/landing` by default).

    `rate` (messages/s) paces the sending for streaming tests; None sends as fast as possible.
    """
    if (root / "truth" / "manifest.json").exists():
        raise ConfigError(f"{root} already holds a simulated city: use a fresh --root (or --days for more days)")
    if rate is not None and not rate > 0:
        raise ConfigError(f"rate must be a positive number of messages per second, not {rate}")
    started = time.perf_counter()
    progress(f"simulating {settings.days} day(s), {settings.zones} zones, {settings.users} users")
    city = generate(settings, root)
    generated = time.perf_counter()
    progress(f"generated {len(city.messages):,} messages in {generated - started:.1f}s; sending")
    sink = sink or LandingSink(root / "landing", settings.landing_file_minutes)
    try:
        batches = paced(city.messages, rate) if rate else [city.messages]
        sent = 0
        for batch in batches:
            sink.write(batch)
            sent += len(batch)
            if rate and sent % max(1, int(rate) * 10) < len(batch):
                progress(f"sent {sent:,}/{len(city.messages):,}")
    except Exception as exc:
        # Nothing half-made: without its truth the root is free for the next try.
        shutil.rmtree(root / "truth", ignore_errors=True)
        if isinstance(exc, ConfigError):
            raise
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise ConfigError(f"sending to {type(sink).__name__} failed after {sent:,} messages: {first[:300]}") from exc
    finally:
        sink.close()
    done = time.perf_counter()
    return SimulationReport(
        root=root, events=len(city.events), messages=len(city.messages), searches=len(city.searches),
        seconds=done - started, stats=city.stats,
        timings={"generate_s": generated - started, "send_s": done - generated},
    )
