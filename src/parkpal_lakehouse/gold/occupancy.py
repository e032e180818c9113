"""Occupancy: how many spaces were taken, time-weighted over each hour, and the peak.

Occupancy is a level carried across hours, not a count of sessions: a car parked at 07:40 and gone at
10:15 occupies a space for 20 minutes of 07:00, all of 08:00 and 09:00 and 15 minutes of 10:00.
Gated zones take their stays from gate entries and exits (every vehicle, app or not): `gate`. Street
zones have no gates: app parking sessions (parked -> departed, or the longest-stay close, flagged)
give the app users' occupancy, and the **all-driver estimate** scales it by the app's penetration,
the share of gate entries at the same city's car parks made by app users' vehicles, per hour of the
week, shrunk towards the city's overall share, and moved to the level the city's street counts
(manual surveys, `silver.street_counts`) saw at the streets, where there are any:
`app_scaled_estimate`, with an interval. A street zone in a city without gate data keeps the app
users' count, labelled `app_sessions`.
"""

from __future__ import annotations

from statistics import NormalDist

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

GATE, APP_SESSIONS, APP_SCALED_ESTIMATE = "gate", "app_sessions", "app_scaled_estimate"


def _capped_end(start: Column, end: Column, max_stay_hours: int) -> Column:
    cap = start + F.expr(f"INTERVAL {max_stay_hours} HOURS")
    return F.least(F.coalesce(end, cap), cap)


def gate_stays(visits: DataFrame, max_stay_hours: int) -> DataFrame:
    """`zone_id, start_at, end_at` per gated visit with an entry: entry -> exit (or the stay cap)."""
    return visits.filter(F.col("entry_at").isNotNull()).select(
        "zone_id", F.col("entry_at").alias("start_at"),
        _capped_end(F.col("entry_at"), F.col("exit_at"), max_stay_hours).alias("end_at"))


def session_stays(closed: DataFrame, running: DataFrame, max_stay_hours: int) -> DataFrame:
    """`zone_id, start_at, end_at, open_ended` per app user parked: closed `parked` searches from
    parked_at to the departure (or, with `departure_source='unknown'`, to the longest-stay close:
    `open_ended`), and searches parked right now (open ones in phase `parked`) up to the stay cap."""
    done = closed.filter((F.col("outcome") == "parked") & F.col("parked_at").isNotNull()).select(
        "zone_id", F.col("parked_at").alias("start_at"),
        _capped_end(F.col("parked_at"), F.coalesce("departed_at", "closed_at"), max_stay_hours).alias("end_at"),
        F.col("departed_at").isNull().alias("open_ended"))
    now = running.filter((F.col("phase") == "parked") & F.col("parked_at").isNotNull()).select(
        "zone_id", F.col("parked_at").alias("start_at"),
        _capped_end(F.col("parked_at"), F.lit(None).cast("timestamp"), max_stay_hours).alias("end_at"),
        F.lit(False).alias("open_ended"))
    return done.unionByName(now)


def open_ended_stays(stays: DataFrame, zone_hours: DataFrame) -> DataFrame:
    """`zone_id, hour_start, open_ended_stays`: app stays overlapping each hour whose end is the
    longest-stay close, not a departure (the hour's app occupancy counts them until then)."""
    flagged = stays.filter("open_ended").select("zone_id", "start_at", "end_at")
    hour_end = F.col("hour_start") + F.expr("INTERVAL 1 HOUR")
    return zone_hours.select("zone_id", "hour_start").join(flagged, "zone_id").filter(
        (F.col("start_at") < hour_end) & (F.col("end_at") > F.col("hour_start"))
    ).groupBy("zone_id", "hour_start").agg(F.count("*").cast("bigint").alias("open_ended_stays"))


def hour_of_week(ts: Column, timezone: str) -> Column:
    """0 (Monday 00:00 local) .. 167 (Sunday 23:00 local)."""
    local = F.from_utc_timestamp(ts, timezone)
    return ((F.dayofweek(local) + 5) % 7) * 24 + F.hour(local)


def local_date(ts: Column, timezone: str) -> Column:
    return F.to_date(F.from_utc_timestamp(ts, timezone))


def _in_window(day: Column, window_days: int) -> Column:
    """`day` within the `window_days` local days ending with (and including) `calib_date`."""
    return (day <= F.col("calib_date")) & (day > F.date_sub(F.col("calib_date"), window_days))


def street_surveys(counts: DataFrame, app_stays: DataFrame, zone_city: DataFrame, days: DataFrame,
                   timezone: str, window_days: int) -> DataFrame:
    """`calib_date, city, surveyed_vehicles, surveyed_app`: per day of `days` (`calib_date`), over the street
    counts (`zone_id, counted_at, vehicles`) of its window, the vehicles counted and the app users' stays
    (`zone_id, start_at, end_at`) covering each count."""
    counts = counts.select("zone_id", "counted_at", "vehicles").distinct()
    # The counts are few and the window's stays many: the counts go to the stays (broadcast), the stays stay put.
    instants = F.broadcast(counts.select("zone_id", "counted_at").distinct())
    covering = app_stays.join(instants, "zone_id").filter(
        (F.col("start_at") <= F.col("counted_at")) & (F.col("end_at") > F.col("counted_at"))
    ).groupBy("zone_id", "counted_at").agg(F.count("*").alias("app"))
    per_count = counts.join(covering, ["zone_id", "counted_at"], "left").select(
        "zone_id", "counted_at", "vehicles", F.coalesce("app", F.lit(0)).alias("app"))
    dated = per_count.join(F.broadcast(zone_city), "zone_id").withColumn(
        "count_date", local_date(F.col("counted_at"), timezone))
    return dated.join(F.broadcast(days), _in_window(F.col("count_date"), window_days)).groupBy(
        "calib_date", "city").agg(F.sum("vehicles").cast("double").alias("surveyed_vehicles"),
                                  F.sum("app").cast("double").alias("surveyed_app"))


def daily_entry_counts(entries: DataFrame, registered: DataFrame, timezone: str) -> DataFrame:
    """`entry_date, zone_id, hour_of_week, entries, app_entries`: the gate entries (`entries`: `event_id,
    zone_id, entry_at, license_plate`) per local day, zone and local hour of the week, and those made by
    app users' vehicles (`registered`: `license_plate`). An entry redelivered under the same `event_id`
    counts once. What the app penetration sums over its window, one day at a time: a day's counts can be
    kept and summed again (`gold/entry_counts.py`: `gold.gate_entry_counts`)."""
    app = F.broadcast(registered.select("license_plate").distinct().withColumn("_app", F.lit(1)))
    # Fixed-width columns only, so the deduplication is a hash aggregate, not a sort of every entry.
    per_entry = entries.join(app, "license_plate", "left").groupBy("event_id").agg(
        F.min("zone_id").alias("zone_id"), F.min("entry_at").alias("entry_at"),
        F.max(F.coalesce("_app", F.lit(0))).alias("_app"))
    return per_entry.groupBy(
        local_date(F.col("entry_at"), timezone).alias("entry_date"), "zone_id",
        hour_of_week(F.col("entry_at"), timezone).alias("hour_of_week")).agg(
        F.count("*").alias("entries"), F.sum("_app").alias("app_entries"))


def window_cells(counts: DataFrame, zone_city: DataFrame, days: DataFrame, window_days: int) -> DataFrame:
    """`calib_date, city, hour_of_week, n, k` for every day of `days` (`calib_date`): the daily entry counts
    (`daily_entry_counts`) of the `window_days` local days up to that day summed per city (`zone_city`,
    the zones' current city) and local hour of the week: `n` entries, `k` of them by app users' vehicles."""
    daily = counts.join(F.broadcast(zone_city.select("zone_id", "city")), "zone_id")
    return daily.join(F.broadcast(days), _in_window(F.col("entry_date"), window_days)).groupBy(
        "calib_date", "city", "hour_of_week").agg(F.sum("entries").alias("n"), F.sum("app_entries").alias("k"))


def app_penetration(cells: DataFrame, prior_entries: int, surveys: DataFrame | None = None) -> DataFrame:
    """`calib_date, city, hour_of_week, app_penetration, penetration_sd, penetration_entries` for every day
    and city of `cells` (`window_cells`) and every hour of the week: the share of the window's gate entries
    made by app users' vehicles, per city and local hour of the week, shrunk towards the city's share with
    the weight of `prior_entries` entries. With street `surveys` (`street_surveys`), the level is moved to
    what the counts saw at the streets (their app share over the car parks', shrunk the same way);
    `penetration_sd` is the spread of both. A function of the day, not of the range being computed:
    rerunning an hour gives the same figure. `cells` is read three times: callers keep it."""
    # The city's share from its cells (the same integer sums), not from a second aggregate over the entries.
    cities = cells.groupBy("calib_date", "city").agg((F.sum("k") / F.sum("n")).alias("p_city"))
    week = cells.sparkSession.range(168).select(F.col("id").cast("int").alias("hour_of_week"))
    if surveys is None:
        surveys = cities.select("calib_date", "city", F.lit(0.0).alias("surveyed_vehicles"),
                                F.lit(0.0).alias("surveyed_app"))
    m = float(prior_entries)
    grid = cities.crossJoin(week).join(cells, ["calib_date", "city", "hour_of_week"], "left") \
        .join(surveys, ["calib_date", "city"], "left")
    n, k = F.coalesce("n", F.lit(0)), F.coalesce("k", F.lit(0))
    sv, sa = F.coalesce("surveyed_vehicles", F.lit(0.0)), F.coalesce("surveyed_app", F.lit(0.0))
    p_gate, p_city = (k + m * F.col("p_city")) / (n + m), F.col("p_city")
    q = (sa + m * p_city) / (sv + m)  # the streets' app share, shrunk towards the car parks'
    ratio = F.when(p_city > 0, q / p_city).otherwise(F.lit(1.0))
    sd_gate = F.sqrt(p_gate * (1 - p_gate) / (n + m + 1))
    sd_ratio = F.when(p_city > 0, F.sqrt(q * (1 - q) / (sv + m + 1)) / p_city).otherwise(F.lit(0.0))
    return grid.select(
        "calib_date", "city", "hour_of_week", F.least(p_gate * ratio, F.lit(1.0)).alias("app_penetration"),
        F.sqrt((ratio * sd_gate) ** 2 + (p_gate * sd_ratio) ** 2).alias("penetration_sd"),
        n.cast("bigint").alias("penetration_entries"))


def _vehicles_seen(app_count: Column, p: Column, z: float, upper: bool) -> Column:
    """The bound of the vehicles N whose app share `app_count` ~ Binomial(N, p) is `z` standard errors
    from p·N (a Wilson-type inversion: at app_count 0 the upper bound is z²(1-p)/p, not 0)."""
    c = F.sqrt(p * (1 - p))
    root = F.sqrt(z * z * c * c + 4 * p * app_count)
    u = ((z * c if upper else -z * c) + root) / (2 * p)
    return F.greatest(u, F.lit(0.0)) ** 2


def all_driver_estimate(app_hours: DataFrame, penetration: DataFrame, timezone: str, interval: float) -> DataFrame:
    """Street zone-hours (`app_hours`: `zone_id, hour_start, city, capacity, app_occupied_avg,
    app_occupied_peak`) scaled to every vehicle: `occupied_avg = app / penetration` clipped to capacity,
    with `occupied_low/high` from the sampling of app users among the vehicles and the penetration's
    own spread, and `occupancy_source`; hours of a city without gate data keep the app count."""
    z = NormalDist().inv_cdf(0.5 + interval / 2)
    joined = app_hours.withColumns({"hour_of_week": hour_of_week(F.col("hour_start"), timezone),
                                    "calib_date": local_date(F.col("hour_start"), timezone)}) \
        .join(F.broadcast(penetration), ["calib_date", "city", "hour_of_week"], "left")
    p, sd, app, cap = (F.col("app_penetration"), F.col("penetration_sd"), F.col("app_occupied_avg"),
                       F.col("capacity").cast("double"))
    p_low, p_high = F.greatest(p - z * sd, F.lit(1e-3)), F.least(p + z * sd, F.lit(1.0))
    scaled = p.isNotNull() & (p > 0)

    def clip(value: Column) -> Column:
        return F.least(F.greatest(value, app), cap)

    return joined.select(
        "zone_id", "hour_start",
        F.when(scaled, clip(app / p)).otherwise(app).alias("occupied_avg"),
        F.when(scaled, clip(F.ceil(F.col("app_occupied_peak") / p))).otherwise(F.col("app_occupied_peak"))
        .cast("bigint").alias("occupied_peak"),
        F.when(scaled, clip(_vehicles_seen(app, p_high, z, upper=False))).alias("occupied_low"),
        F.when(scaled, clip(_vehicles_seen(app, p_low, z, upper=True))).alias("occupied_high"),
        F.when(scaled, p).alias("app_penetration"),
        F.when(scaled, F.lit(APP_SCALED_ESTIMATE)).otherwise(F.lit(APP_SESSIONS)).alias("occupancy_source"))


def hourly_occupancy(stays: DataFrame, zone_hours: DataFrame) -> DataFrame:
    """Per `zone_hours` row (`zone_id, hour_start`): `occupied_avg` (time-weighted spaces taken) and
    `occupied_peak` (most at any instant), by sweeping the stays' arrivals (+1) and departures (-1)
    with a zero-change point at every hour boundary, so each segment of constant level lies inside one
    hour. `stays` must hold every stay that overlaps the hours (callers read `max_stay_hours` back).
    Departures sort before arrivals at the same instant."""
    changes = stays.filter(F.col("end_at") > F.col("start_at")).select(
        "zone_id", F.explode(F.array(
            F.struct(F.col("start_at").alias("t"), F.lit(1).alias("delta")),
            F.struct(F.col("end_at").alias("t"), F.lit(-1).alias("delta")))).alias("c")).select(
        "zone_id", "c.t", "c.delta")
    boundaries = zone_hours.select("zone_id", F.explode(F.array(
        F.col("hour_start"), F.col("hour_start") + F.expr("INTERVAL 1 HOUR"))).alias("t"),
        F.lit(0).alias("delta")).distinct()
    order = Window.partitionBy("zone_id").orderBy("t", "delta")
    points = changes.unionByName(boundaries).withColumn(
        "level", F.sum("delta").over(order.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
    points = points.withColumn("next_t", F.lead("t").over(order))
    segments = points.select(
        "zone_id", F.date_trunc("hour", "t").alias("hour_start"), "level",
        (F.coalesce(F.unix_micros("next_t") - F.unix_micros("t"), F.lit(0)) / 1e6).alias("seconds"))
    per_hour = segments.groupBy("zone_id", "hour_start").agg(
        (F.sum(F.col("level") * F.col("seconds")) / 3600.0).alias("occupied_avg"),
        F.max("level").cast("bigint").alias("occupied_peak"))
    return zone_hours.select("zone_id", "hour_start").join(per_hour, ["zone_id", "hour_start"], "left").select(
        "zone_id", "hour_start", F.coalesce("occupied_avg", F.lit(0.0)).alias("occupied_avg"),
        F.coalesce("occupied_peak", F.lit(0)).cast("bigint").alias("occupied_peak"))
