"""The calendar dimensions: `gold.dim_date` (Philippine public holidays) and `gold.dim_hour`.

Holidays follow Republic Act 9492 as amended: fixed-date regular and special non-working days,
Holy Week (from Easter), National Heroes Day (last Monday of August). Chinese New Year and the two
Eid holidays move with other calendars and are proclaimed yearly; the proclaimed dates are data here
(`PROCLAIMED`), add a year's dates when Malacañang publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession

DIM_DATE_DDL = (
    "date_key INT, date DATE, year INT, quarter INT, month INT, month_name STRING, day INT, "
    "day_of_week INT, day_name STRING, is_weekend BOOLEAN, is_holiday BOOLEAN, holiday_name STRING, "
    "holiday_type STRING, is_working_day BOOLEAN"
)
DIM_HOUR_DDL = "hour_key INT, hour_label STRING, day_part STRING, is_peak BOOLEAN"

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


@dataclass(frozen=True)
class DateRow:
    date_key: int
    date: date
    year: int
    quarter: int
    month: int
    month_name: str
    day: int
    day_of_week: int  # 1 = Monday ... 7 = Sunday (ISO)
    day_name: str
    is_weekend: bool
    is_holiday: bool
    holiday_name: str | None
    holiday_type: str | None
    is_working_day: bool


def date_rows(first: date, last: date) -> list[DateRow]:
    rows, holidays = [], {}
    for year in range(first.year, last.year + 1):
        holidays.update(philippine_holidays(year))
    d = first
    while d <= last:
        name, kind = holidays.get(d, (None, None))
        weekend = d.isoweekday() >= 6
        rows.append(DateRow(int(d.strftime("%Y%m%d")), d, d.year, (d.month - 1) // 3 + 1, d.month,
                            d.strftime("%B"), d.day, d.isoweekday(), d.strftime("%A"), weekend,
                            name is not None, name, kind, not weekend and name is None))
        d += timedelta(days=1)
    return rows


def day_part(hour: int) -> str:
    if hour < 6:
        return "night"
    if hour < 10:
        return "morning peak"
    if hour < 16:
        return "midday"
    if hour < 20:
        return "evening peak"
    return "evening"


def dim_date(spark: SparkSession, first: date, last: date) -> DataFrame:
    return spark.createDataFrame([tuple(r.__dict__.values()) for r in date_rows(first, last)], DIM_DATE_DDL)


def dim_hour(spark: SparkSession) -> DataFrame:
    rows = [(h, f"{h:02d}:00-{(h + 1) % 24:02d}:00", day_part(h), day_part(h).endswith("peak")) for h in range(24)]
    return spark.createDataFrame(rows, DIM_HOUR_DDL)
