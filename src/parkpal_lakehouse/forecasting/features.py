"""Features for forecasting a zone's occupancy 1 to 24 hours ahead.

One row per (zone, target hour, horizon): the forecast made at the end of hour `origin_hour`
(= target - horizon) for `target_hour`. Every feature is known at the origin:

- calendar of the target hour in local time: hour_of_day, day_of_week (ISO), is_weekend,
  is_holiday (Philippine public holidays), is_rest_day (weekend or holiday);
- the zone: zone_type, capacity;
- at the origin: origin_rate (the last hour, what persistence predicts), origin_mean_24h and
  origin_mean_168h (rolling means of the last day and week);
- seasonal lags of the target hour: lag_24h (same hour yesterday; known while horizon <= 24),
  lag_168h (same hour last week), same_hour_mean_7d (that hour on each of the last 7 days).

Lags read the series carried forward over gaps (`filled_rate`), on the full hourly grid, so a lag of
n rows is a lag of n hours. `actual_rate` is the target (null in a gap: such rows are not trained or
scored on).
"""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from parkpal_lakehouse.gold.calendar import philippine_holidays

MAX_HORIZON = 24
# History a row's features need before its origin (a week of lags and means, plus an hour).
FEATURE_LOOKBACK = timedelta(days=8, hours=1)
FEATURE_COLUMNS: tuple[str, ...] = (
    "zone_id", "zone_type", "capacity", "horizon", "hour_of_day", "day_of_week", "is_weekend", "is_holiday",
    "is_rest_day", "origin_rate", "origin_mean_24h", "origin_mean_168h", "lag_24h", "lag_168h", "same_hour_mean_7d",
)
ROW_COLUMNS: tuple[str, ...] = ("origin_hour", "target_hour", *FEATURE_COLUMNS, "actual_rate")


def holiday_dates(spark: SparkSession, first: date, last: date, timezone: str) -> DataFrame:
    """Local dates that are public holidays. Philippine holidays for Asia/Manila, none elsewhere."""
    days: list[tuple[date]] = []
    if timezone == "Asia/Manila":
        for year in range(first.year, last.year + 1):
            days += [(d,) for d in philippine_holidays(year) if first <= d <= last]
    return spark.createDataFrame(days, "holiday_date DATE")


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


def zone_hour_features(series: DataFrame, holidays: DataFrame, timezone: str) -> DataFrame:
    """Per zone-hour: calendar, the carried-forward rate, rolling means and seasonal lags."""
    by_zone = Window.partitionBy("zone_id").orderBy("hour_start")
    filled = F.last("occupancy_rate", ignorenulls=True).over(by_zone.rowsBetween(Window.unboundedPreceding, 0))
    out = calendar_features(series, holidays, timezone).withColumn("filled_rate", filled)
    same_hour = [F.lag("filled_rate", 24 * k).over(by_zone) for k in range(1, 8)]
    return (out
            .withColumn("mean_24h", F.avg("filled_rate").over(by_zone.rowsBetween(-23, 0)))
            .withColumn("mean_168h", F.avg("filled_rate").over(by_zone.rowsBetween(-167, 0)))
            .withColumn("rows_before", F.row_number().over(by_zone) - 1)
            .withColumn("lag_24h", F.lag("filled_rate", 24).over(by_zone))
            .withColumn("lag_168h", F.lag("filled_rate", 168).over(by_zone))
            .withColumn("same_hour_mean_7d", sum(same_hour[1:], same_hour[0]) / F.lit(7.0)))


def horizon_rows(zone_hours: DataFrame, horizons: int = MAX_HORIZON) -> DataFrame:
    """Zone-hour features -> one row per (zone, target hour, horizon 1..`horizons`).

    Origin values are read `horizon` rows back; rows whose origin lies before a week of history
    (the weekly features would be partial) are left out."""
    by_zone = Window.partitionBy("zone_id").orderBy("hour_start")
    origins = F.array(*[
        F.struct(F.lit(h).alias("horizon"),
                 F.lag("filled_rate", h).over(by_zone).alias("origin_rate"),
                 F.lag("mean_24h", h).over(by_zone).alias("origin_mean_24h"),
                 F.lag("mean_168h", h).over(by_zone).alias("origin_mean_168h"))
        for h in range(1, horizons + 1)
    ])
    exploded = zone_hours.withColumn("origins", origins).withColumn("origin", F.explode("origins"))
    return (exploded
            .where(F.col("rows_before") - F.col("origin.horizon") >= 168)
            .select(
                (F.col("hour_start") - F.make_interval(hours=F.col("origin.horizon"))).alias("origin_hour"),
                F.col("hour_start").alias("target_hour"), "zone_id", "zone_type", "capacity",
                F.col("origin.horizon").alias("horizon"), "hour_of_day", "day_of_week", "is_weekend", "is_holiday",
                "is_rest_day", "origin.origin_rate", "origin.origin_mean_24h", "origin.origin_mean_168h",
                "lag_24h", "lag_168h", "same_hour_mean_7d", F.col("occupancy_rate").alias("actual_rate")))


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


def span_dates(series: DataFrame, timezone: str, extra_days: int = 2) -> tuple[date, date]:
    row = series.agg(F.min("hour_start").alias("a"), F.max("hour_start").alias("b")).first()
    return row["a"].date() - timedelta(days=1), row["b"].date() + timedelta(days=extra_days)


def forecast_rows(spark: SparkSession, series: DataFrame, timezone: str, horizons: int = MAX_HORIZON,
                  with_future: bool = False) -> DataFrame:
    """Series -> horizon rows (training, backtest, scoring): the whole feature pipeline."""
    first, last = span_dates(series, timezone)
    source = future_hours(series, horizons) if with_future else series
    zone_hours = zone_hour_features(source, holiday_dates(spark, first, last, timezone), timezone)
    return horizon_rows(zone_hours, horizons).select(*ROW_COLUMNS)
