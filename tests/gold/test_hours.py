from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.gold.hours import contiguous_ranges, hours_between, local_dates, utc_hour

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


def test_local_dates_are_the_metric_date_partitions_of_utc_hours():
    # Manila is UTC+8: 15:00 UTC is 23:00 on the 2nd there, 16:00 UTC midnight of the 3rd.
    assert local_dates([h(2, 16), h(2, 15), h(2, 14)], "Asia/Manila") == [date(2026, 11, 2), date(2026, 11, 3)]
    assert local_dates([h(2, 23)], "UTC") == [date(2026, 11, 2)]
    assert local_dates([], "Asia/Manila") == []
