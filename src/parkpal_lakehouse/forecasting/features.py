"""Features for forecasting a zone's occupancy 1 to 24 hours ahead.

One row per (zone, target hour, horizon): the forecast made at the end of hour `origin_hour`
(= target - horizon) for `target_hour`. Every feature is known at the origin:

- calendar of the target hour in local time: hour_of_day, day_of_week (ISO), is_weekend,
  is_holiday (public holidays of the data's country), is_rest_day (weekend or holiday);
- the zone: zone_type, capacity;
- at the origin: origin_rate (the last real reading at or before the origin) and origin_age_hours
  (how old that reading is: 0 when the origin hour itself was observed); origin_mean_24h and
  origin_mean_168h (means of the readings of the last day and week; gaps are not counted) and
  origin_mean_24h_last_week (the same 24 h a week earlier: today's level against the usual);
- seasonal references of the target hour: lag_24h / lag_168h (the last reading at or before the
  same hour yesterday / last week) with lag_24h_age_hours / lag_168h_age_hours (0: that very hour
  was observed) and whether their days were rest days (lag_24h_rest_day / lag_168h_rest_day: a
  Monday after a Sunday, or a holiday a week after a working day), same_hour_mean_7d (mean of the
  readings of that hour on the last 7 days) and
  same_hour_count_7d (how many of those 7 hours had a reading).

Stale inputs are never passed off as fresh: a value carried over a gap comes with its age, and a
seasonal-naive baseline is only defined where its reference hour was observed (age 0, see
`baselines.py`). `actual_rate` is the target: null in a gap, so such rows are neither trained nor
scored on (filled values are never targets).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from parkpal_lakehouse.columns import kept_per_driver
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.holiday_calendar import philippine_holidays

MAX_HORIZON = 24
# History a row's features need before its origin (a week of lags and means, a day and an hour).
FEATURE_LOOKBACK = timedelta(days=8, hours=1)
FEATURE_COLUMNS: tuple[str, ...] = (
    "zone_id", "zone_type", "capacity", "horizon", "hour_of_day", "day_of_week", "is_weekend", "is_holiday",
    "is_rest_day", "origin_rate", "origin_age_hours", "origin_mean_24h", "origin_mean_168h",
    "origin_mean_24h_last_week", "lag_24h", "lag_24h_age_hours", "lag_24h_rest_day", "lag_168h",
    "lag_168h_age_hours", "lag_168h_rest_day", "same_hour_mean_7d", "same_hour_count_7d",
)
ROW_COLUMNS: tuple[str, ...] = ("origin_hour", "target_hour", *FEATURE_COLUMNS, "actual_rate")
NO_HOLIDAYS = "none"


@cache
def country_of_timezone(timezone: str) -> str | None:
    """ISO country of an IANA zone, from the tz database's zone table as pytz ships it (pandas'
    own dependency); None for zones without a country (UTC, Etc/...)."""
    import pytz

    found = [country for country, zones in pytz.country_timezones.items() if timezone in zones]
    return found[0] if len(found) == 1 else None


def holiday_country(timezone: str, country: str | None) -> str | None:
    """The holiday calendar's country: as given (`none`: no holidays), else the timezone's country."""
    if country:
        return None if country.lower() == NO_HOLIDAYS else country.upper()
    return country_of_timezone(timezone)


def country_holidays(country: str | None, first: date, last: date) -> list[date]:
    """Public holidays in [first, last]: our Philippine calendar for PH, the `holidays` package elsewhere."""
    if country is None:
        return []
    years = range(first.year, last.year + 1)
    if country == "PH":
        days = [d for y in years for d in philippine_holidays(y)]
    else:
        import holidays

        try:
            days = list(holidays.country_holidays(country, years=years))
        except NotImplementedError as exc:
            raise ParkPalError(f"no public holiday calendar for country {country!r}: give --holiday-country "
                               f"with an ISO code the `holidays` package knows, or `{NO_HOLIDAYS}`") from exc
    return sorted(d for d in set(days) if first <= d <= last)


@dataclass(frozen=True)
class ForecastCalendar:
    """The local time and public holidays of a series: they follow the data, not the deployment."""

    timezone: str
    holiday_country: str | None  # ISO code; None: no holidays

    @classmethod
    def of(cls, timezone: str, country: str | None = None) -> ForecastCalendar:
        return cls(timezone, holiday_country(timezone, country))

    def describe(self) -> str:
        return f"local time {self.timezone}, " + (f"{self.holiday_country} public holidays"
                                                   if self.holiday_country else "no public holidays")


def holiday_dates(spark: SparkSession, first: date, last: date, country: str | None) -> DataFrame:
    """Local dates that are public holidays of `country` (None: no holidays)."""
    return spark.createDataFrame([(d,) for d in country_holidays(country, first, last)], "holiday_date DATE")


def calendar_features(series: DataFrame, holidays: DataFrame, timezone: str) -> DataFrame:
    """Adds the local calendar of `hour_start`."""
    local = F.from_utc_timestamp("hour_start", timezone)
    iso_dow = ((F.dayofweek(local) + 5) % 7) + 1
    out = (series.withColumn("local_date", F.to_date(local))
           .withColumn("hour_of_day", F.hour(local)).withColumn("day_of_week", iso_dow)
           .join(F.broadcast(holidays.withColumnRenamed("holiday_date", "local_date")
                             .withColumn("is_holiday", F.lit(True))), "local_date", "left"))
    return (out.withColumn("is_holiday", F.coalesce("is_holiday", F.lit(False)))
            .withColumn("is_weekend", F.col("day_of_week") >= 6)
            .withColumn("is_rest_day", F.col("is_weekend") | F.col("is_holiday"))
            .drop("local_date"))


def _hours_between(later: Column, earlier: Column) -> Column:
    """Whole hours, as DOUBLE: ages are null before a zone's first reading, and the model's MLflow
    signature must accept a missing value where an integer column could not."""
    return F.round((F.unix_timestamp(later) - F.unix_timestamp(earlier)) / 3600).cast("double")


def _readings(values: list[Column]) -> tuple[Column, Column]:
    """(mean of the non-null `values` or null, how many were non-null)."""
    total = sum((F.coalesce(v, F.lit(0.0)) for v in values[1:]), F.coalesce(values[0], F.lit(0.0)))
    count = sum((F.when(v.isNotNull(), 1).otherwise(0) for v in values[1:]),
                F.when(values[0].isNotNull(), 1).otherwise(0))
    return F.when(count > 0, total / count), count


@dataclass(frozen=True)
class ZoneHourColumns:
    """`zone_hour_features`' window columns, in two passes: the second reads what the first adds."""

    filled: dict[str, Column]  # the last reading carried forward, and its age
    seasonal: dict[str, Column]  # means, lags and the same hour of the last 7 days


def _zone_hour_columns() -> ZoneHourColumns:
    by_zone = Window.partitionBy("zone_id").orderBy("hour_start")
    so_far = by_zone.rowsBetween(Window.unboundedPreceding, 0)
    reading_hour = F.when(F.col("occupancy_rate").isNotNull(), F.col("hour_start"))
    filled = {"filled_rate": F.last("occupancy_rate", ignorenulls=True).over(so_far),
              "reading_age_hours": _hours_between(F.col("hour_start"),
                                                  F.last(reading_hour, ignorenulls=True).over(so_far))}
    same_hour, count = _readings([F.lag("occupancy_rate", 24 * k).over(by_zone) for k in range(1, 8)])
    seasonal = {
        "mean_24h": F.avg("occupancy_rate").over(by_zone.rowsBetween(-23, 0)),
        "mean_168h": F.avg("occupancy_rate").over(by_zone.rowsBetween(-167, 0)),
        "mean_24h_last_week": F.avg("occupancy_rate").over(by_zone.rowsBetween(-191, -168)),
        "rows_before": F.row_number().over(by_zone) - 1,
        "lag_24h": F.lag("filled_rate", 24).over(by_zone),
        "lag_24h_age_hours": F.lag("reading_age_hours", 24).over(by_zone),
        "lag_24h_rest_day": F.lag("is_rest_day", 24).over(by_zone),
        "lag_168h": F.lag("filled_rate", 168).over(by_zone),
        "lag_168h_age_hours": F.lag("reading_age_hours", 168).over(by_zone),
        "lag_168h_rest_day": F.lag("is_rest_day", 168).over(by_zone),
        "same_hour_count_7d": count.cast("double"),
        "same_hour_mean_7d": same_hour,
    }
    return ZoneHourColumns(filled, seasonal)


zone_hour_columns = kept_per_driver(_zone_hour_columns)


def zone_hour_features(series: DataFrame, holidays: DataFrame, timezone: str) -> DataFrame:
    """Per zone-hour: calendar, the last reading and its age, means of readings, seasonal references."""
    columns = zone_hour_columns()
    return calendar_features(series, holidays, timezone).withColumns(columns.filled).withColumns(columns.seasonal)


@dataclass(frozen=True)
class HorizonColumns:
    """`horizon_rows`' columns for 1..horizons: each target hour's origins, which to keep, the row."""

    origins: Column
    kept: Column
    row: tuple[Column, ...]


def _horizon_columns(horizons: int) -> HorizonColumns:
    by_zone = Window.partitionBy("zone_id").orderBy("hour_start")
    origins = F.array(*[
        F.struct(F.lit(h).alias("horizon"),
                 F.lag("filled_rate", h).over(by_zone).alias("origin_rate"),
                 F.lag("reading_age_hours", h).over(by_zone).alias("origin_age_hours"),
                 F.lag("mean_24h", h).over(by_zone).alias("origin_mean_24h"),
                 F.lag("mean_168h", h).over(by_zone).alias("origin_mean_168h"),
                 F.lag("mean_24h_last_week", h).over(by_zone).alias("origin_mean_24h_last_week"))
        for h in range(1, horizons + 1)
    ])
    row = (
        (F.col("hour_start") - F.make_interval(hours=F.col("origin.horizon"))).alias("origin_hour"),
        F.col("hour_start").alias("target_hour"), F.col("zone_id"), F.col("zone_type"), F.col("capacity"),
        F.col("origin.horizon").alias("horizon"),
        *[F.col(c) for c in ("hour_of_day", "day_of_week", "is_weekend", "is_holiday", "is_rest_day",
                             "origin.origin_rate", "origin.origin_age_hours", "origin.origin_mean_24h",
                             "origin.origin_mean_168h", "origin.origin_mean_24h_last_week", "lag_24h",
                             "lag_24h_age_hours", "lag_24h_rest_day", "lag_168h", "lag_168h_age_hours",
                             "lag_168h_rest_day", "same_hour_mean_7d", "same_hour_count_7d")],
        F.col("occupancy_rate").alias("actual_rate"))
    return HorizonColumns(origins, F.col("rows_before") - F.col("origin.horizon") >= 168, row)


horizon_columns = kept_per_driver(_horizon_columns)


def horizon_rows(zone_hours: DataFrame, horizons: int = MAX_HORIZON) -> DataFrame:
    """Zone-hour features -> one row per (zone, target hour, horizon 1..`horizons`).

    Origin values are read `horizon` rows back; rows whose origin lies before a week of history
    (the weekly features would be partial) are left out."""
    columns = horizon_columns(horizons)
    exploded = zone_hours.withColumn("origins", columns.origins).withColumn("origin", F.explode("origins"))
    return exploded.where(columns.kept).select(*columns.row)


def future_hours(series: DataFrame, through: int = MAX_HORIZON) -> DataFrame:
    """The series plus `through` empty hours after each zone's last hour (to score the future)."""
    last = series.groupBy("zone_id").agg(F.max("hour_start").alias("last_hour"),
                                         F.max("zone_type").alias("z_type"), F.max("capacity").alias("z_cap"))
    ahead = last.select(
        "zone_id",
        F.explode(F.sequence(F.col("last_hour") + F.expr("INTERVAL 1 HOUR"),
                             F.col("last_hour") + F.make_interval(hours=F.lit(through)),
                             F.expr("INTERVAL 1 HOUR"))).alias("hour_start"),
        F.col("z_type").alias("zone_type"), F.col("z_cap").alias("capacity"),
        F.lit(None).cast("double").alias("occupancy_rate"))
    return series.unionByName(ahead)


def span_dates(series: DataFrame, extra_days: int = 2) -> tuple[date, date]:
    row = series.agg(F.min("hour_start").alias("a"), F.max("hour_start").alias("b")).first()
    return row["a"].date() - timedelta(days=1), row["b"].date() + timedelta(days=extra_days)


def forecast_rows(spark: SparkSession, series: DataFrame, calendar: ForecastCalendar, horizons: int = MAX_HORIZON,
                  with_future: bool = False) -> DataFrame:
    """Series -> horizon rows (training, backtest, scoring): the whole feature pipeline."""
    first, last = span_dates(series)
    source = future_hours(series, horizons) if with_future else series
    holidays = holiday_dates(spark, first, last, calendar.holiday_country)
    zone_hours = zone_hour_features(source, holidays, calendar.timezone)
    return horizon_rows(zone_hours, horizons).select(*ROW_COLUMNS)
