"""Each local day's gate entries, kept: `gold.gate_entry_counts` (`occupancy.daily_entry_counts`, per zone and
local hour of the week, with the entries of app users' vehicles). The app penetration sums `penetration_days`
of them for every hour it scales, so an hourly run counts the days that changed and reads the others, instead of
counting 28 days of entries again (issue 21).

A kept day is counted again when
- a gate entry of that local day was written to silver at or after its count began, less
  `change_margin_minutes` (as the hourly job's own change check: a micro-batch's `processed_at` is its start,
  and clocks differ): a late or redelivered entry;
- `silver.vehicles` (the registered plates) is at another Delta version than the one the count read: a new
  registration makes that vehicle's earlier entries app users' entries;
- it was counted in another time zone (the local days and hours of the week would differ).
The newest day asked for is counted every time and not kept: it is usually still filling; nor is a day with an
entry written within the margin before the count (it would be counted again next run). The zones' cities
are applied when the days are summed (`occupancy.window_cells`), so a zone moved to another city needs no
recount. Each kept day has one row without a zone, so a day counted without entries is kept too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.gold.occupancy import daily_entry_counts, local_date
from parkpal_lakehouse.gold.schemas import PARTITIONS
from parkpal_lakehouse.io.conflicts import with_conflict_retries
from parkpal_lakehouse.io.delta import read_table, table_exists, table_version
from parkpal_lakehouse.io.writers import replace_where, side_by_side
from parkpal_lakehouse.names import GATE_ENTRY_COUNTS, VEHICLES, silver_table

COUNTS = ["entry_date", "zone_id", "hour_of_week", "entries", "app_entries"]
COUNTS_DDL = "entry_date DATE, zone_id BIGINT, hour_of_week INT, entries BIGINT, app_entries BIGINT"


@dataclass(frozen=True)
class KeptDay:
    """What a kept day was counted from: when the count began, the registered plates' version, the time zone."""

    counted_at: datetime
    vehicles_version: int | None
    time_zone: str


def days_to_count(wanted: Sequence[date], kept: Mapping[date, KeptDay], written: Mapping[date, datetime],
                  vehicles_version: int | None, time_zone: str, margin: timedelta) -> list[date]:
    """The days of `wanted` whose kept counts cannot be used: not kept; counted from another version of the
    registered plates or in another time zone; or with a gate entry written to silver (`written`: the newest
    `processed_at` of each local day's entries written since the oldest kept count began) at or after its
    count began, less `margin`."""
    def stale(day: date) -> bool:
        mark = kept.get(day)
        return (mark is None or mark.vehicles_version != vehicles_version or mark.time_zone != time_zone
                or (day in written and written[day] >= mark.counted_at - margin))
    return [day for day in wanted if stale(day)]


def _utc_dates(days: Sequence[date]) -> list[date]:
    """The UTC `event_date` partitions that can hold the events of local `days` (a day either side)."""
    return sorted({d + timedelta(days=k) for d in days for k in (-1, 0, 1)})


def _entries(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    return read_table(spark, config, silver_table(Hub.GATE)).filter(
        (F.col("event_type") == "VEHICLE_ENTRY") & F.col("license_plate").isNotNull())


def kept_days(spark: SparkSession, config: LakehouseConfig, days: Sequence[date]) -> dict[date, KeptDay]:
    """What each kept day of `days` was counted from; a day whose rows disagree (never written so) is left out."""
    marks = read_table(spark, config, GATE_ENTRY_COUNTS).filter(F.col("entry_date").isin(list(days))).groupBy(
        "entry_date", "vehicles_version", "time_zone").agg(F.min("counted_at").alias("counted_at")).collect()
    seen: dict[date, list] = {}
    for row in marks:
        seen.setdefault(row.entry_date, []).append(row)
    # Collected timestamps are naive in the process's zone, which every door makes UTC (runtime/clock.py).
    return {day: KeptDay(rows[0].counted_at.replace(tzinfo=UTC), rows[0].vehicles_version, rows[0].time_zone)
            for day, rows in seen.items() if len(rows) == 1}


def entries_written(spark: SparkSession, config: LakehouseConfig, kept: Mapping[date, KeptDay],
                    margin: timedelta) -> dict[date, datetime]:
    """The newest `processed_at` of each kept local day's gate entries written since that day's count began
    (less `margin`). Each UTC date's files are read only where their `processed_at` statistics reach its
    days' earliest count: a day counted after its entries were written costs no read."""
    since: dict[date, datetime] = {}
    for day, mark in kept.items():
        for utc_day in _utc_dates([day]):
            since[utc_day] = min(since.get(utc_day, mark.counted_at), mark.counted_at)
    if not since:
        return {}
    newer = reduce(lambda a, b: a | b, [
        (F.col("event_date") == F.lit(d)) & (F.col("processed_at") >= F.lit(t - margin))
        for d, t in since.items()])
    newest = _newest_per_day(_entries(spark, config).filter(newer), config.timezone)
    return {day: at for day, at in newest.items() if day in kept}


def newest_written(spark: SparkSession, config: LakehouseConfig, days: Sequence[date]) -> dict[date, datetime]:
    """The newest `processed_at` of each local day's gate entries, for `days` (a day without entries is absent)."""
    newest = _newest_per_day(_entries(spark, config).filter(F.col("event_date").isin(_utc_dates(days))),
                             config.timezone)
    return {day: at for day, at in newest.items() if day in set(days)}


def _newest_per_day(entries: DataFrame, timezone: str) -> dict[date, datetime]:
    """The newest `processed_at` of `entries` per local day of their event time."""
    rows = entries.groupBy(local_date(F.col("event_time"), timezone).alias("day")).agg(
        F.max("processed_at").alias("newest")).collect()
    return {r.day: r.newest.replace(tzinfo=UTC) for r in rows}


def count_days(spark: SparkSession, config: LakehouseConfig, days: Sequence[date], vehicles_version: int | None
               ) -> DataFrame:
    """`daily_entry_counts` of the local `days` from silver's gate entries (kept with `localCheckpoint`)."""
    entries = _entries(spark, config).filter(F.col("event_date").isin(_utc_dates(days))).select(
        "event_id", "zone_id", F.col("event_time").alias("entry_at"), "license_plate")
    registered = read_table(spark, config, VEHICLES, version=vehicles_version)
    return daily_entry_counts(entries, registered, config.timezone).filter(
        F.col("entry_date").isin(list(days))).localCheckpoint()


def keep_days(config: LakehouseConfig, counts: DataFrame, days: Sequence[date], counted_at: datetime,
              vehicles_version: int | None) -> None:
    """Replace `days` in `gold.gate_entry_counts` with `counts`, marked with what they were counted from."""
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in days)
    # One row without a zone per day: a day counted without entries is kept too, not counted again each run.
    day_marks = counts.sparkSession.createDataFrame([(d, None, None, 0, 0) for d in days], COUNTS_DDL)
    marked = counts.filter(F.col("entry_date").isin(list(days))).select(*COUNTS).unionByName(day_marks).select(
        *COUNTS, F.lit(counted_at).alias("counted_at"),
        F.lit(vehicles_version).cast("bigint").alias("vehicles_version"), F.lit(config.timezone).alias("time_zone"))
    with_conflict_retries(lambda: replace_where(marked, config, GATE_ENTRY_COUNTS, f"entry_date IN ({listed})",
                                                PARTITIONS[GATE_ENTRY_COUNTS]),
                          config.gold.conflict_retries, "write gold.gate_entry_counts")


def gate_entry_counts(spark: SparkSession, config: LakehouseConfig, first: date, last: date) -> DataFrame:
    """`entry_date, zone_id, hour_of_week, entries, app_entries` of the local days `first`..`last`: the kept
    days that are still right read from `gold.gate_entry_counts`, the others counted from silver and kept
    (all but `last`). Without that table (gold not prepared) every day is counted and nothing kept."""
    began = datetime.now(UTC)  # before anything is read: a count covers what was written before it
    wanted = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    if not table_exists(spark, config, GATE_ENTRY_COUNTS):
        return count_days(spark, config, wanted, table_version(spark, config, VEHICLES))
    margin = timedelta(minutes=config.gold.change_margin_minutes)
    # The newest day is counted whatever was kept, side by side with finding which other days must be.
    vehicles_version = table_version(spark, config, VEHICLES)
    newest, (kept, written) = side_by_side([
        lambda: count_days(spark, config, [last], vehicles_version),
        lambda: _kept_and_written(spark, config, wanted[:-1], margin)])
    stale = days_to_count(wanted[:-1], kept, written, vehicles_version, config.timezone, margin)
    if not stale:
        counted = newest
    else:
        older, latest = side_by_side([lambda: count_days(spark, config, stale, vehicles_version),
                                      lambda: newest_written(spark, config, stale)])
        # A day with an entry written within the margin would be counted again next run: kept once it is not.
        settled = [d for d in stale if d not in latest or latest[d] < began - margin]
        if settled:
            keep_days(config, older, settled, began, vehicles_version)
        counted = newest.unionByName(older)
    reused = [d for d in wanted[:-1] if d not in stale]
    if not reused:
        return counted
    return read_table(spark, config, GATE_ENTRY_COUNTS).filter(
        F.col("entry_date").isin(reused) & F.col("zone_id").isNotNull()).select(*COUNTS).unionByName(counted)


def _kept_and_written(spark: SparkSession, config: LakehouseConfig, days: Sequence[date], margin: timedelta
                      ) -> tuple[dict[date, KeptDay], dict[date, datetime]]:
    kept = kept_days(spark, config, days) if days else {}
    return kept, entries_written(spark, config, kept, margin)

