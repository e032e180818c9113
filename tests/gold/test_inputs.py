"""What the hourly job reads: the sessions a street count can need."""

from datetime import date, timedelta

from parkpal_lakehouse.gold.inputs import covering_dates


def test_a_count_reads_the_sessions_of_its_date_and_of_the_dates_its_longest_stay_reaches_back_to():
    # A stay covering an instant of 2 Nov began at most 25 h before it: from 31 Oct 23:00 UTC at the earliest.
    assert covering_dates([date(2026, 11, 2)], timedelta(hours=25)) == [
        date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
    assert covering_dates([date(2026, 11, 2)], timedelta(hours=24)) == [date(2026, 11, 1), date(2026, 11, 2)]
    # Two survey days a week apart: their own reaches, not the week between.
    assert covering_dates([date(2026, 11, 9), date(2026, 11, 2)], timedelta(hours=2)) == [
        date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 8), date(2026, 11, 9)]
    assert covering_dates([], timedelta(hours=25)) == []
