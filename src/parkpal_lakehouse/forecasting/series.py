"""The occupancy series a forecaster learns from: one row per zone and hour, cleaned, on a full grid.

Sources: `gold.zone_metrics_hourly` (the pipeline's own, time-weighted), or any hourly occupancy
table from CSV or Delta with a zone id, an hour (or reading) timestamp, occupied spaces and capacity
(or an occupancy rate). External data is cleaned explicitly and every fix is counted:

- unreadable rows (no zone, no parsable time, no number) are dropped;
- negative counts are invalid readings (a counter that went below zero): dropped;
- repeated readings of one zone-hour are averaged into one (exact duplicates, the same reading time
  and values twice, are dropped first);
- occupancy above capacity is clipped to full (rate 1.0);
- hours missing between a zone's first and last reading stay on the grid as gaps (no target; lag
  features carry the last reading forward).

Columns of a series: zone_id STRING, hour_start TIMESTAMP (UTC), zone_type STRING, capacity DOUBLE,
occupancy_rate DOUBLE (null in a gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.frames import kept_with

SERIES_COLUMNS = ("zone_id", "hour_start", "zone_type", "capacity", "occupancy_rate")
UNKNOWN_ZONE_TYPE = "UNKNOWN"

# Accepted column names (compared case-insensitively, ignoring `_`, `-` and spaces).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "zone_id": ("zone_id", "zone", "zoneid", "car_park", "carpark", "carpark_id", "systemcodenumber", "site_id"),
    "time": ("hour_start", "hour", "timestamp", "time", "datetime", "lastupdated", "reading_time"),
    "occupied": ("occupied", "occupancy", "occupied_spaces", "vehicles"),
    "capacity": ("capacity", "spaces", "total_spaces"),
    "rate": ("occupancy_rate", "rate", "utilisation", "utilization"),
    "zone_type": ("zone_type", "type"),
}


@dataclass(frozen=True)
class CleaningReport:
    """What cleaning did to an input table, in rows / zone-hours."""

    rows_read: int = 0
    unreadable: int = 0
    negative: int = 0
    exact_duplicates: int = 0
    readings_averaged: int = 0  # readings merged into a zone-hour that had more than one
    above_capacity: int = 0
    gap_hours: int = 0
    zone_hours: int = 0
    zones: int = 0
    first_hour: str = ""
    last_hour: str = ""
    column_map: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"input: {self.rows_read:,} rows; columns " + ", ".join(f"{k}={v}" for k, v in self.column_map.items()),
            f"cleaned: {self.unreadable:,} unreadable dropped, {self.negative:,} negative counts dropped, "
            f"{self.exact_duplicates:,} exact duplicates dropped, {self.readings_averaged:,} repeated readings "
            f"averaged, {self.above_capacity:,} above capacity clipped to full",
            f"series: {self.zones:,} zones x hourly grid = {self.zone_hours:,} zone-hours from {self.first_hour} to "
            f"{self.last_hour}; {self.gap_hours:,} gap hours (no reading)",
        ]


def _normalise(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def resolve_columns(columns: list[str], overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Map our roles (zone_id, time, occupied, capacity, rate, zone_type) to the input's columns."""
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    by_norm = {_normalise(c): c for c in columns}
    found: dict[str, str] = {}
    for role, aliases in COLUMN_ALIASES.items():
        if role in overrides:
            if overrides[role] not in columns:
                raise ParkPalError(f"column {overrides[role]!r} (for {role}) is not in the input; it has "
                                   + ", ".join(columns))
            found[role] = overrides[role]
            continue
        match = next((by_norm[_normalise(a)] for a in aliases if _normalise(a) in by_norm), None)
        if match:
            found[role] = match
    missing = [r for r in ("zone_id", "time") if r not in found]
    if missing or ("occupied" not in found and "rate" not in found):
        need = missing + ([] if "occupied" in found or "rate" in found else ["occupied (or rate)"])
        raise ParkPalError(f"the input needs a {' and a '.join(need)} column; it has {', '.join(columns)} "
                           "(name them with --zone-column / --time-column / --occupied-column / --capacity-column)")
    if "occupied" in found and "capacity" not in found and "rate" not in found:
        raise ParkPalError("the input has occupied counts but no capacity (or rate) column: rates need a capacity")
    return found


def read_occupancy_table(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    if fmt == "csv":
        return spark.read.option("header", True).csv(path)
    if fmt == "delta":
        return spark.read.format("delta").load(path)
    raise ParkPalError(f"--format must be csv or delta, not {fmt!r}")


def _utc_time(text: Column, timezone: str) -> Column:
    """The instant of a timestamp string: with an offset as given, without one in `timezone`."""
    has_offset = text.rlike(r"(Z|[+-]\d\d:?\d\d)$")
    as_given = text.try_cast("timestamp")
    local = F.to_utc_timestamp(text.try_cast("timestamp_ntz").try_cast("timestamp"), timezone)
    return F.when(has_offset, as_given).otherwise(local)


def parse_readings(raw: DataFrame, columns: dict[str, str], timezone: str) -> DataFrame:
    """Raw input -> (zone_id, read_at, hour_start, occupied, capacity, rate, zone_type, readable)."""
    def num(role: str) -> Column:
        if role not in columns:
            return F.lit(None).cast("double")
        return F.trim(F.col(columns[role]).cast("string")).try_cast("double")

    time_text = F.trim(F.col(columns["time"]).cast("string"))
    parsed = raw.select(
        F.trim(F.col(columns["zone_id"]).cast("string")).alias("zone_id"),
        _utc_time(time_text, timezone).alias("read_at"),
        num("occupied").alias("occupied"),
        num("capacity").alias("capacity"),
        num("rate").alias("rate"),
        (F.upper(F.col(columns["zone_type"]).cast("string")) if "zone_type" in columns
         else F.lit(None).cast("string")).alias("zone_type"),
    )
    parsed = parsed.withColumn("hour_start", F.date_trunc("hour", "read_at"))
    value_ok = (F.col("occupied").isNotNull() & F.col("capacity").isNotNull() & (F.col("capacity") > 0)) | \
        F.col("rate").isNotNull()
    readable = F.col("zone_id").isNotNull() & (F.col("zone_id") != "") & F.col("hour_start").isNotNull() & value_ok
    return parsed.withColumn("readable", F.coalesce(readable, F.lit(False)))


def clean_readings(readings: DataFrame) -> DataFrame:
    """Readable, non-negative readings -> one row per zone-hour: rate clipped to [0, 1].

    Adds `readings` (how many were averaged) and `clipped` (the averaged rate was above full)."""
    raw_rate = F.coalesce(F.col("occupied") / F.col("capacity"), F.col("rate"))
    valid = (readings.where("readable").withColumn("raw_rate", raw_rate)
             .where(F.col("raw_rate") >= 0).dropDuplicates(["zone_id", "read_at", "occupied", "capacity", "rate"]))
    hourly = valid.groupBy("zone_id", "hour_start").agg(
        F.avg("raw_rate").alias("raw_rate"), F.count(F.lit(1)).alias("readings"),
        F.max("capacity").alias("capacity"), F.max("zone_type").alias("zone_type"))
    return hourly.select(
        "zone_id", "hour_start", "zone_type", "capacity",
        F.least(F.col("raw_rate"), F.lit(1.0)).alias("occupancy_rate"),
        "readings", (F.col("raw_rate") > 1.0).alias("clipped"))


def hourly_grid(hourly: DataFrame, last_hour: Column | None = None) -> DataFrame:
    """Every hour from each zone's first reading to its last (or to `last_hour`), gaps as null rates.

    Zone attributes (type, capacity) are the zone's most recent known values."""
    w = Window.partitionBy("zone_id").orderBy("hour_start").rowsBetween(Window.unboundedPreceding,
                                                                        Window.unboundedFollowing)
    attrs = hourly.select(
        "zone_id",
        F.last("capacity", ignorenulls=True).over(w).alias("zone_capacity"),
        F.last("zone_type", ignorenulls=True).over(w).alias("zone_zone_type"),
    ).dropDuplicates(["zone_id"])
    bounds = hourly.groupBy("zone_id").agg(F.min("hour_start").alias("first"), F.max("hour_start").alias("last"))
    if last_hour is not None:
        bounds = bounds.withColumn("last", F.greatest("last", last_hour))
    hours = F.sequence("first", "last", F.expr("INTERVAL 1 HOUR"))
    grid = bounds.select("zone_id", F.explode(hours).alias("hour_start"))
    return (grid.join(attrs, "zone_id").join(hourly.select("zone_id", "hour_start", "occupancy_rate"),
                                               ["zone_id", "hour_start"], "left")
            .select("zone_id", "hour_start",
                    F.coalesce("zone_zone_type", F.lit(UNKNOWN_ZONE_TYPE)).alias("zone_type"),
                    F.col("zone_capacity").cast("double").alias("capacity"), "occupancy_rate"))


def clean_occupancy(raw: DataFrame, timezone: str, overrides: dict[str, str] | None = None
                    ) -> tuple[DataFrame, CleaningReport]:
    """Any hourly occupancy table -> (series on a full hourly grid, what was cleaned)."""
    columns = resolve_columns(raw.columns, overrides)
    rate = F.coalesce(F.col("occupied") / F.col("capacity"), F.col("rate"))
    # Each step kept, and what the report says of it computed by the job that keeps it (issue 21: was one query
    # of three one-row aggregates over the kept steps after them, ~5 Spark jobs).
    readings, counts = kept_with(
        parse_readings(raw, columns, timezone), rows=F.count(F.lit(1)),
        unreadable=F.sum(F.when(~F.col("readable"), 1).otherwise(0)),
        negative=F.sum(F.when(F.col("readable") & (rate < 0), 1).otherwise(0)))
    hourly, merged = kept_with(
        clean_readings(readings), averaged=F.sum(F.when(F.col("readings") > 1, F.col("readings")).otherwise(0)),
        distinct=F.sum("readings"), clipped=F.sum(F.col("clipped").cast("int")))
    series, summary = kept_with(
        hourly_grid(hourly.drop("readings", "clipped")), n=F.count(F.lit(1)),
        gaps=F.sum(F.col("occupancy_rate").isNull().cast("int")),
        zones=F.size(F.collect_set("zone_id")),  # observed metrics take no DISTINCT aggregate
        first=F.min("hour_start"), last=F.max("hour_start"))
    figures = {**counts, **merged, **summary}
    # Readable rows always have a rate, so the valid ones are those neither unreadable nor negative;
    # `readings` per zone-hour counts them after exact duplicates were dropped.
    valid = figures["rows"] - (figures["unreadable"] or 0) - (figures["negative"] or 0)
    distinct = figures["distinct"] or 0
    report = CleaningReport(
        rows_read=figures["rows"], unreadable=figures["unreadable"] or 0, negative=figures["negative"] or 0,
        exact_duplicates=valid - distinct, readings_averaged=figures["averaged"] or 0,
        above_capacity=figures["clipped"] or 0, gap_hours=figures["gaps"] or 0, zone_hours=figures["n"],
        zones=figures["zones"], first_hour=f"{figures['first']:%Y-%m-%d %H:00}" if figures["first"] else "-",
        last_hour=f"{figures['last']:%Y-%m-%d %H:00}" if figures["last"] else "-", column_map=columns,
    )
    if not report.zone_hours:
        raise ParkPalError(f"no readable occupancy rows in the input ({report.rows_read:,} rows read, "
                           f"{report.unreadable:,} unreadable, {report.negative:,} negative)")
    return series, report


def gold_occupancy(metrics: DataFrame) -> DataFrame:
    """`gold.zone_metrics_hourly` -> series columns (gold is already clean and on a full grid)."""
    return metrics.select(
        F.col("zone_id").cast("string").alias("zone_id"), "hour_start", "zone_type",
        F.col("capacity").cast("double").alias("capacity"),
        F.least(F.col("occupancy_rate"), F.lit(1.0)).alias("occupancy_rate"))


def extend_backwards(gold: DataFrame, history: DataFrame) -> DataFrame:
    """Gold's series, preceded per zone by `history`'s hours before that zone's first gold hour
    (an older export for the same zones; gold wins from its first hour on)."""
    first = gold.groupBy("zone_id").agg(F.min("hour_start").alias("gold_first"))
    earlier = (history.join(first, "zone_id", "left")
               .where(F.col("gold_first").isNull() | (F.col("hour_start") < F.col("gold_first")))
               .select(*SERIES_COLUMNS))
    combined = gold.select(*SERIES_COLUMNS).unionByName(earlier)
    # Zone attributes from gold where it knows them; the grid filled across the seam.
    attrs = gold.groupBy("zone_id").agg(F.max("zone_type").alias("g_type"), F.max("capacity").alias("g_cap"))
    combined = (combined.join(attrs, "zone_id", "left")
                .select("zone_id", "hour_start", F.coalesce("g_type", "zone_type").alias("zone_type"),
                        F.coalesce("g_cap", "capacity").alias("capacity"), "occupancy_rate"))
    return hourly_grid(combined)
