"""Hours as the gold job takes them: whole UTC hours, grouped into ranges. Pure Python, so the CLI can
check its arguments without starting Spark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from parkpal_lakehouse.errors import ConfigError

HOUR = timedelta(hours=1)
MAX_RANGE_HOURS = 24


def utc_hour(value: datetime) -> datetime:
    """`value` as an aware UTC datetime on a whole hour (naive values are taken as UTC)."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value != value.replace(minute=0, second=0, microsecond=0):
        raise ConfigError(f"hours start on the hour: {value.isoformat()} is not a whole hour")
    return value


def contiguous_ranges(hours: Sequence[datetime], max_hours: int = MAX_RANGE_HOURS) -> list[tuple[datetime, datetime]]:
    """Sorted distinct hours as [start, end) ranges of consecutive hours, each at most `max_hours` long."""
    ranges: list[tuple[datetime, datetime]] = []
    for h in sorted(set(hours)):
        if ranges and ranges[-1][1] == h and (h - ranges[-1][0]) < max_hours * HOUR:
            ranges[-1] = (ranges[-1][0], h + HOUR)
        else:
            ranges.append((h, h + HOUR))
    return ranges


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    start, end = utc_hour(start), utc_hour(end)
    if end <= start:
        raise ConfigError(f"hour range is empty: --to {end:%Y-%m-%dT%H:%M} is not after --from {start:%Y-%m-%dT%H:%M}")
    return [start + i * HOUR for i in range(int((end - start) / HOUR))]


def local_dates(hours: Sequence[datetime], timezone: str) -> list[date]:
    """The distinct local dates (in `timezone`) of UTC `hours`: the `metric_date` partitions they fall in."""
    zone = ZoneInfo(timezone)
    return sorted({utc_hour(h).astimezone(zone).date() for h in hours})
