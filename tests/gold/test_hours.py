from datetime import UTC, datetime, timedelta, timezone

import pytest

from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.gold.hours import contiguous_ranges, hours_between, utc_hour

H = timedelta(hours=1)


def h(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_hours_become_ranges_of_consecutive_hours_at_most_a_day_long():
    hours = [h(2, 5), h(2, 3), h(2, 4), h(2, 9), h(2, 4)] + [h(3, 0) + i * H for i in range(30)]
    assert contiguous_ranges(hours) == [(h(2, 3), h(2, 6)), (h(2, 9), h(2, 10)), (h(3, 0), h(4, 0)),
                                        (h(4, 0), h(4, 6))]
    assert contiguous_ranges([]) == []


def test_hour_arguments_are_whole_utc_hours():
    manila = timezone(timedelta(hours=8))
    assert utc_hour(datetime(2026, 11, 2, 16, tzinfo=manila)) == h(2, 8)
    assert utc_hour(datetime(2026, 11, 2, 8)) == h(2, 8)  # naive: UTC
    with pytest.raises(ConfigError, match="not a whole hour"):
        utc_hour(datetime(2026, 11, 2, 8, 30, tzinfo=UTC))
    assert hours_between(h(2, 22), h(3, 1)) == [h(2, 22), h(2, 23), h(3, 0)]
    with pytest.raises(ConfigError, match="range is empty"):
        hours_between(h(2, 5), h(2, 5))
