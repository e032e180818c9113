"""Reading what one range of hours needs, and no more: every read is bounded by the range plus the
longest stay (`GoldSettings.max_stay_hours`), through the silver tables' date partitions, so the cost
of an hour does not grow with the length of history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.frames import one_per_key
from parkpal_lakehouse.gold.entry_counts import gate_entry_counts
from parkpal_lakehouse.gold.facts import gate_visits
from parkpal_lakehouse.gold.hours import hours_between, local_dates
from parkpal_lakehouse.gold.metrics import HourlyInputs, zone_hour_grid
from parkpal_lakehouse.gold.occupancy import (
    app_penetration,
    gate_stays,
    session_stays,
    street_surveys,
    window_cells,
)
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.io.writers import side_by_side
from parkpal_lakehouse.names import (
    DIM_ZONE,
    OPEN_SESSIONS,
    PARKING_SESSIONS,
    QUARANTINE,
    STREET_COUNTS,
    silver_table,
)


def between(column: str, start: datetime, end: datetime) -> Column:
    return (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end))


def dates_between(column: str, start: datetime, end: datetime) -> Column:
    """Partition filter on a UTC date column covering [start, end)."""
    return F.col(column).between(F.lit(start.date()), F.lit(end.date()))


def lookback(config: LakehouseConfig) -> timedelta:
    """How far before a range a stay that overlaps it can have begun (longest stay + an hour of search)."""
    return timedelta(hours=config.gold.max_stay_hours + 1)


def gate_events_around(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime) -> DataFrame:
    """Gate events from one lookback before `start` to one after `end`: every entry of a stay that
    overlaps the range, and the exits, payments and refunds of the visits that begin in it, one row per
    `event_id` (`one_per_event`)."""
    lo, hi = start - lookback(config), end + lookback(config)
    return one_per_event(read_table(spark, config, silver_table(Hub.GATE)).filter(
        dates_between("event_date", lo, hi) & between("event_time", lo, hi)))


def one_per_event(events: DataFrame) -> DataFrame:
    """One row per `event_id` (which every silver gate event has: the contract requires it), the copy whose
    `record_id` hashes lowest, as silver picks (`frames.one_per_key`): silver keeps one copy per event date and id,
    so a gate that sent an event again with another time could still be there twice, and a payment is not new
    revenue because the gate sent it again."""
    return one_per_key(events, ["event_id"])


def sessions_around(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime) -> DataFrame:
    lo = start - lookback(config)
    return read_table(spark, config, PARKING_SESSIONS).filter(
        dates_between("entry_date", lo, end) & between("zone_entry_at", lo, end))


def searches_in(closed: DataFrame, running: DataFrame, start: datetime, end: datetime) -> DataFrame:
    """Searches that entered in [start, end): the closed ones, plus the ones parked right now (their
    circling time is final at parking; they close only when the driver leaves, hours later)."""
    columns = ["session_id", "zone_id", "zone_entry_at", "outcome", "circling_seconds"]
    done = closed.filter(between("zone_entry_at", start, end)).select(*columns)
    parked_now = running.filter((F.col("phase") == "parked") & between("zone_entry_at", start, end)) \
        .withColumn("outcome", F.lit("parked")).select(*columns) \
        .join(done.select("session_id"), "session_id", "left_anti")
    return done.unionByName(parked_now)


def quarantined_zone_events(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime
                            ) -> DataFrame:
    """Geofence and gate records quarantined with a readable zone and time in [start, end). Late records
    are quarantined up to the session late horizon after their event time."""
    hi = end + timedelta(hours=config.sessions.late_horizon_hours + 24)
    q = read_table(spark, config, QUARANTINE).filter(
        dates_between("quarantine_date", start, hi) & F.col("hub").isin(Hub.GEOFENCE.value, Hub.GATE.value))
    parsed = q.select(
        F.expr("try_cast(get_json_object(body, '$.zoneId') AS BIGINT)").alias("zone_id"),
        F.expr("try_to_timestamp(get_json_object(body, '$.timestamp'))").alias("event_time"))
    return parsed.filter(F.col("zone_id").isNotNull() & between("event_time", start, end))


def penetration_before(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime) -> DataFrame:
    """`occupancy.app_penetration` for each local day of [start, end), from the gate entries and street
    counts of the `penetration_days` local days up to it (the app stays at each count from the
    sessions). The entries are counted per local day and kept (`gold/entry_counts.py`): an hour counts the days
    that changed, not the whole window. The window's cells are kept: the penetration reads them three times."""
    window = config.gold.penetration_days
    calib = local_dates(hours_between(start, end), config.timezone)
    days = spark.createDataFrame([(d,) for d in calib], "calib_date DATE")
    zone_city = read_table(spark, config, DIM_ZONE).filter("is_current").select("zone_id", "city")
    counts = gate_entry_counts(spark, config, calib[0] - timedelta(days=window - 1), calib[-1])
    cells = window_cells(counts, zone_city, days, window).localCheckpoint()
    surveys = None
    if table_exists(spark, config, STREET_COUNTS):
        lo, end = start - timedelta(days=window + 1), end + timedelta(days=1)  # whole local days, either side
        street = read_table(spark, config, STREET_COUNTS).filter(between("counted_at", lo, end))
        # Only the sessions that can cover a count are read: the counts are a few survey days, the window 28 days.
        counted_on = [r[0] for r in street.select(F.to_date("counted_at")).distinct().collect()]
        if counted_on:
            sessions = read_table(spark, config, PARKING_SESSIONS).filter(
                F.col("entry_date").isin(covering_dates(counted_on, lookback(config)))
                & (F.col("zone_entry_at") < F.lit(end)))
            stays = session_stays(sessions, read_table(spark, config, OPEN_SESSIONS), config.gold.max_stay_hours)
            surveys = street_surveys(street, stays, zone_city, days, config.timezone, window)
    return app_penetration(cells, config.gold.penetration_prior_entries, surveys)


def covering_dates(counted_on: list[date], reach: timedelta) -> list[date]:
    """The UTC `entry_date`s of the sessions that can be parked at an instant of the UTC dates `counted_on`: a
    stay covering an instant began at most `reach` (`lookback`) before it."""
    dates: set[date] = set()
    for day in counted_on:
        first = (datetime.combine(day, time(0), UTC) - reach).date()
        dates.update(first + timedelta(days=k) for k in range((day - first).days + 1))
    return sorted(dates)


def hour_frame(spark: SparkSession, start: datetime, end: datetime) -> DataFrame:
    """`hour_start` for every hour in [start, end) (UTC-aware datetimes on whole hours)."""
    last = end - timedelta(hours=1)
    return spark.range(1).select(
        F.explode(F.sequence(F.lit(start), F.lit(last), F.expr("INTERVAL 1 HOUR"))).alias("hour_start"))


def hourly_inputs(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime) -> HourlyInputs:
    max_stay = config.gold.max_stay_hours
    hours = hour_frame(spark, start, end)
    # Read once and kept for this range: each is used by the metrics, the quality checks and the facts.
    # Independent reads, side by side: on small ranges each is mostly driver work (issue 21).
    def gate_and_visits() -> tuple[DataFrame, DataFrame]:
        gate = gate_events_around(spark, config, start, end).localCheckpoint()
        return gate, gate_visits(gate, max_stay).localCheckpoint()

    penetration, (gate, visits), grid, sessions = side_by_side([
        lambda: penetration_before(spark, config, start, end).localCheckpoint(),
        gate_and_visits,
        lambda: zone_hour_grid(read_table(spark, config, DIM_ZONE), hours).localCheckpoint(),
        lambda: sessions_around(spark, config, start, end).localCheckpoint()])
    overlaps = (F.col("start_at") < F.lit(end)) & (F.col("end_at") > F.lit(start))
    stays_gate = gate_stays(visits, max_stay).filter(overlaps)
    running = read_table(spark, config, OPEN_SESSIONS)
    stays_app = session_stays(sessions, running, max_stay).filter(overlaps)
    geofence = read_table(spark, config, silver_table(Hub.GEOFENCE)).filter(
        dates_between("event_date", start, end) & between("event_time", start, end)).select("zone_id", "event_time")
    return HourlyInputs(
        zone_hours=grid,
        searches=searches_in(sessions, running, start, end),
        sessions=sessions.filter(between("zone_entry_at", start, end)),
        gate_events=gate.filter(between("event_time", start, end)),
        gate_visits=visits,
        gate_stays=stays_gate,
        session_stays=stays_app,
        zone_events=geofence.unionByName(
            gate.filter(between("event_time", start, end)).select("zone_id", "event_time")),
        quarantined=quarantined_zone_events(spark, config, start, end),
        penetration=penetration,
    )
