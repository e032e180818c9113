"""The calendar dimensions: `gold.dim_date` (with the Philippine public holidays of
`holiday_calendar`) and `gold.dim_hour`."""


from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.holiday_calendar import philippine_holidays

DIM_DATE_DDL = (
    "date_key INT, date DATE, year INT, quarter INT, month INT, month_name STRING, day INT, "
    "day_of_week INT, day_name STRING, is_weekend BOOLEAN, is_holiday BOOLEAN, holiday_name STRING, "
    "holiday_type STRING, is_working_day BOOLEAN"
)
DIM_HOUR_DDL = "hour_key INT, hour_label STRING, day_part STRING, is_peak BOOLEAN"

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
