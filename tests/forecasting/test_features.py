"""Feature correctness on a hand-made series: every lag, age and mean checked against its definition."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chispa import assert_df_equality
from pyspark.sql import functions as F

from parkpal_lakehouse.forecasting.features import (
    ForecastCalendar,
    calendar_features,
    forecast_rows,
    future_hours,
    holiday_dates,
)

SERIES = "zone_id STRING, hour_start TIMESTAMP, zone_type STRING, capacity DOUBLE, occupancy_rate DOUBLE"
START = datetime(2026, 12, 14, 16)  # 2026-12-15 00:00 in Manila, a Tuesday
MANILA = ForecastCalendar.of("Asia/Manila")


def rate(i: int) -> float:
    """Hour i's rate: distinct everywhere, so a wrong lag cannot match by accident."""
    return round(0.001 * i, 6)


def mean_of(hours) -> float:
    hours = list(hours)
    return sum(rate(i) for i in hours) / len(hours)


def series_frame(spark, hours: int, gap: int | None = None, gaps: set[int] = frozenset()):
    missing = {gap, *gaps}
    rows = [("9", START + timedelta(hours=i), "LOT", 50.0, None if i in missing else rate(i)) for i in range(hours)]
    return spark.createDataFrame(rows, SERIES)


def test_calendar_is_local_with_philippine_holidays(spark):
    hours = [datetime(2026, 12, 24, 15), datetime(2026, 12, 24, 16), datetime(2026, 12, 26, 16)]
    frame = spark.createDataFrame([("1", h, "LOT", 1.0, 0.5) for h in hours], SERIES)
    holidays = holiday_dates(spark, date(2026, 12, 1), date(2026, 12, 31), MANILA.holiday_country)
    out = calendar_features(frame, holidays, "Asia/Manila").select(
        "hour_start", "hour_of_day", "day_of_week", "is_weekend", "is_holiday", "is_rest_day")
    expected = spark.createDataFrame([
        (hours[0], 23, 4, False, True, True),  # Thu 24 Dec 23:00 local: Christmas Eve (special)
        (hours[1], 0, 5, False, True, True),  # Fri 25 Dec 00:00: Christmas Day
        (hours[2], 0, 7, True, False, True),  # Sun 27 Dec
    ], "hour_start TIMESTAMP, hour_of_day INT, day_of_week INT, is_weekend BOOLEAN, is_holiday BOOLEAN, "
       "is_rest_day BOOLEAN")
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
    assert MANILA.holiday_country == "PH"


def test_holidays_follow_the_data_not_manila(spark):
    london = ForecastCalendar.of("Europe/London")
    assert london.holiday_country == "GB"  # the tz database: Europe/London is in GB
    days = {r.holiday_date for r in holiday_dates(spark, date(2016, 12, 1), date(2016, 12, 31),
                                                  london.holiday_country).collect()}
    assert date(2016, 12, 26) in days and date(2016, 12, 30) not in days  # Boxing Day; Rizal Day is Manila's
    assert ForecastCalendar.of("Europe/London", "none").holiday_country is None
    assert ForecastCalendar.of("Asia/Manila", "gb").holiday_country == "GB"
    assert holiday_dates(spark, date(2016, 12, 1), date(2016, 12, 31), None).count() == 0


def test_lags_and_means_follow_their_definitions(spark):
    n = 200
    rows = forecast_rows(spark, series_frame(spark, n), MANILA)
    target = 190
    got = rows.where(F.col("target_hour") == START + timedelta(hours=target)).where("horizon IN (1, 5, 22)")
    expected = spark.createDataFrame([
        (START + timedelta(hours=target - h), START + timedelta(hours=target), h,
         rate(target - h), 0.0,  # origin_rate: the origin hour's reading, 0 hours old
         sum(rate(i) for i in range(target - h - 23, target - h + 1)) / 24,  # origin_mean_24h
         sum(rate(i) for i in range(target - h - 167, target - h + 1)) / 168,  # origin_mean_168h
         mean_of(range(max(0, target - h - 191), target - h - 167)),  # the same 24 h a week earlier
         rate(target - 24), 0.0, rate(target - 168), 0.0,
         sum(rate(target - 24 * k) for k in range(1, 8)) / 7, 7.0, rate(target))
        for h in (1, 5, 22)
    ], "origin_hour TIMESTAMP, target_hour TIMESTAMP, horizon INT, origin_rate DOUBLE, origin_age_hours DOUBLE, "
       "origin_mean_24h DOUBLE, origin_mean_168h DOUBLE, origin_mean_24h_last_week DOUBLE, lag_24h DOUBLE, "
       "lag_24h_age_hours DOUBLE, lag_168h DOUBLE, "
       "lag_168h_age_hours DOUBLE, same_hour_mean_7d DOUBLE, same_hour_count_7d DOUBLE, actual_rate DOUBLE")
    assert_df_equality(got.select(*expected.columns), expected, ignore_row_order=True, ignore_nullable=True,
                       allow_nan_equality=True, ignore_column_order=False, underline_cells=True,
                       ignore_metadata=True, transforms=[lambda df: df.select(
                           *[F.round(c, 9).alias(c) if t == "double" else F.col(c) for c, t in df.dtypes])])


def test_rows_start_once_a_week_of_history_precedes_the_origin(spark):
    rows = forecast_rows(spark, series_frame(spark, 200), MANILA)
    first = rows.groupBy("horizon").agg(F.min("origin_hour").alias("first")).collect()
    assert {r.first for r in first} == {START + timedelta(hours=168)}
    assert rows.select("horizon").distinct().count() == 24


def test_a_gap_has_no_target_and_carried_values_say_how_old_they_are(spark):
    # Hours 178-180 missing (an overnight closure in miniature), and hour 186 - 24 = 162 too.
    rows = forecast_rows(spark, series_frame(spark, 200, gaps={162, 178, 179, 180}), MANILA)

    def row(target: int, horizon: int):
        return rows.where((F.col("target_hour") == START + timedelta(hours=target))
                          & (F.col("horizon") == horizon)).first()

    assert row(180, 1).actual_rate is None
    after = row(181, 1)
    assert (after.origin_rate, after.origin_age_hours) == (rate(177), 3)  # 177 carried over 178-180, 3 h old
    assert after.origin_mean_24h == sum(rate(i) for i in range(157, 181) if i not in {162, 178, 179, 180}) / 20
    lagged = row(186, 2)  # same hour yesterday = 162, missing: the reading of 161, 1 h old
    assert (lagged.lag_24h, lagged.lag_24h_age_hours) == (rate(161), 1)
    assert lagged.same_hour_count_7d == 6  # 162 missing; 138, 114, ... 18 read
    assert lagged.same_hour_mean_7d == sum(rate(186 - 24 * k) for k in range(2, 8)) / 6


def test_future_hours_make_rows_to_score(spark):
    series = series_frame(spark, 200)
    extended = future_hours(series, 24)
    assert extended.count() == 224
    rows = forecast_rows(spark, series, MANILA, with_future=True)
    origin = START + timedelta(hours=199)
    scored = rows.where(F.col("origin_hour") == origin).orderBy("horizon").collect()
    assert [r.horizon for r in scored] == list(range(1, 25))
    assert all(r.actual_rate is None and r.origin_rate == rate(199) for r in scored)
    assert [r.lag_24h for r in scored] == [rate(199 + h - 24) for h in range(1, 25)]


def test_scoring_rows_reach_the_origin_for_a_zone_whose_newest_hours_are_missing(spark):
    from parkpal_lakehouse.forecasting.batch_inference import origin_features

    full = series_frame(spark, 200)
    stale = series_frame(spark, 197).withColumn("zone_id", F.lit("10"))  # its last 3 hours never arrived
    origin = START + timedelta(hours=199)
    rows = origin_features(spark, full.unionByName(stale), origin, MANILA, 24)
    assert rows.groupby("zone_id").horizon.count().to_dict() == {"9": 24, "10": 24}
    stale_rows = rows[rows.zone_id == "10"]
    assert (stale_rows.origin_rate == rate(196)).all()  # carried forward from its newest reading...
    assert (stale_rows.origin_age_hours == 3).all()  # ...and known to be 3 hours old
    assert (rows[rows.zone_id == "9"].origin_age_hours == 0).all()


def test_kept_feature_columns_give_the_rows_of_columns_built_afresh(spark, monkeypatch):
    """The window columns are built once per driver and horizon count (issue 21: ~7,000 Py4J calls a
    build): two series and two horizon counts give, row for row, what columns built now give."""
    from parkpal_lakehouse.forecasting import features

    frames = [(series_frame(spark, 200, gaps={162, 178, 179, 180}), 24),
              (series_frame(spark, 190).withColumn("zone_id", F.lit("10")), 6)]
    kept = [forecast_rows(spark, series, MANILA, horizons, with_future=True) for series, horizons in frames]
    with monkeypatch.context() as m:
        m.setattr(features, "zone_hour_columns", features.zone_hour_columns.build)
        m.setattr(features, "horizon_columns", features.horizon_columns.build)
        fresh = [forecast_rows(spark, series, MANILA, horizons, with_future=True) for series, horizons in frames]
    for got, expected in zip(kept, fresh, strict=True):
        assert got.count() > 100
        assert_df_equality(got, expected, ignore_row_order=True)
    assert features.horizon_columns(24) is features.horizon_columns(24)
    assert features.horizon_columns(6) is not features.horizon_columns(24)
    assert kept[1].agg(F.max("horizon")).first()[0] == 6
