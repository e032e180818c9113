"""Philippine public holidays, below every stage that needs them (gold's dim_date, the simulator's
demand, forecasting's calendar features).

Holidays follow Republic Act 9492 as amended: fixed-date regular and special non-working days,
Holy Week (from Easter), National Heroes Day (last Monday of August). Chinese New Year and the two
Eid holidays move with other calendars and are proclaimed yearly; the proclaimed dates are data here
(`PROCLAIMED`), add a year's dates when Malacañang publishes them.
"""

from __future__ import annotations

from datetime import date, timedelta

REGULAR, SPECIAL = "regular", "special non-working"

_FIXED: dict[tuple[int, int], tuple[str, str]] = {
    (1, 1): ("New Year's Day", REGULAR),
    (2, 25): ("EDSA People Power Revolution Anniversary", SPECIAL),
    (4, 9): ("Araw ng Kagitingan", REGULAR),
    (5, 1): ("Labor Day", REGULAR),
    (6, 12): ("Independence Day", REGULAR),
    (8, 21): ("Ninoy Aquino Day", SPECIAL),
    (11, 1): ("All Saints' Day", SPECIAL),
    (11, 2): ("All Souls' Day", SPECIAL),
    (11, 30): ("Bonifacio Day", REGULAR),
    (12, 8): ("Feast of the Immaculate Conception", SPECIAL),
    (12, 24): ("Christmas Eve", SPECIAL),
    (12, 25): ("Christmas Day", REGULAR),
    (12, 30): ("Rizal Day", REGULAR),
    (12, 31): ("Last Day of the Year", SPECIAL),
}

# Holidays on lunar / Islamic calendars, as proclaimed (2024-2025) or announced for proclamation.
PROCLAIMED: dict[date, tuple[str, str]] = {
    date(2024, 2, 10): ("Chinese New Year", SPECIAL),
    date(2024, 4, 10): ("Eid'l Fitr", REGULAR),
    date(2024, 6, 17): ("Eid'l Adha", REGULAR),
    date(2025, 1, 29): ("Chinese New Year", SPECIAL),
    date(2025, 4, 1): ("Eid'l Fitr", REGULAR),
    date(2025, 6, 6): ("Eid'l Adha", REGULAR),
    date(2026, 2, 17): ("Chinese New Year", SPECIAL),
    date(2026, 3, 20): ("Eid'l Fitr", REGULAR),
    date(2026, 5, 27): ("Eid'l Adha", REGULAR),
    date(2027, 2, 6): ("Chinese New Year", SPECIAL),
    date(2027, 3, 10): ("Eid'l Fitr", REGULAR),
    date(2027, 5, 17): ("Eid'l Adha", REGULAR),
}


def easter_sunday(year: int) -> date:
    """Gregorian Easter (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def last_monday_of_august(year: int) -> date:
    d = date(year, 8, 31)
    return d - timedelta(days=d.weekday())


def philippine_holidays(year: int) -> dict[date, tuple[str, str]]:
    """Every public holiday of `year`: date -> (name, regular | special non-working)."""
    days = {date(year, m, d): v for (m, d), v in _FIXED.items()}
    easter = easter_sunday(year)
    days[easter - timedelta(days=3)] = ("Maundy Thursday", REGULAR)
    days[easter - timedelta(days=2)] = ("Good Friday", REGULAR)
    days[easter - timedelta(days=1)] = ("Black Saturday", SPECIAL)
    days[last_monday_of_august(year)] = ("National Heroes Day", REGULAR)
    days.update({d: v for d, v in PROCLAIMED.items() if d.year == year})
    return days
