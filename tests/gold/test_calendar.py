from datetime import date

import pytest

from parkpal_lakehouse.gold.calendar import date_rows, day_part
from parkpal_lakehouse.holiday_calendar import easter_sunday, last_monday_of_august, philippine_holidays


@pytest.mark.parametrize(("year", "easter"), [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                              (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28))])
def test_easter_sunday(year, easter):
    assert easter_sunday(year) == easter


def test_holidays_of_2026_follow_the_proclamation():
    days = philippine_holidays(2026)
    assert days[date(2026, 4, 2)] == ("Maundy Thursday", "regular")
    assert days[date(2026, 4, 3)] == ("Good Friday", "regular")
    assert days[date(2026, 4, 4)][0] == "Black Saturday"
    assert last_monday_of_august(2026) == date(2026, 8, 31) and days[date(2026, 8, 31)][0] == "National Heroes Day"
    assert days[date(2026, 6, 12)] == ("Independence Day", "regular")
    assert days[date(2026, 11, 2)][1] == "special non-working"
    assert days[date(2026, 2, 17)][0] == "Chinese New Year"
    assert date(2026, 11, 3) not in days


def test_date_rows_keys_weekends_and_working_days():
    rows = {r.date: r for r in date_rows(date(2026, 10, 31), date(2026, 11, 3))}
    assert [r.date_key for r in rows.values()] == [20261031, 20261101, 20261102, 20261103]
    saturday, sunday_all_saints, monday_all_souls, tuesday = rows.values()
    assert saturday.is_weekend and saturday.day_of_week == 6 and not saturday.is_working_day
    assert sunday_all_saints.is_holiday and sunday_all_saints.holiday_name == "All Saints' Day"
    assert monday_all_souls.is_holiday and not monday_all_souls.is_weekend and not monday_all_souls.is_working_day
    assert tuesday.is_working_day and tuesday.quarter == 4 and tuesday.month_name == "November"


def test_day_parts_mark_the_peaks():
    assert [day_part(h) for h in (3, 8, 12, 17, 22)] == ["night", "morning peak", "midday", "evening peak", "evening"]
