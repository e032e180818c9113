"""The hourly gold job: silver -> `gold.*` for closed hours, idempotently.

1. repair sessions touched by late events (so gold sees the batch-corrected sessions);
2. apply zone reference changes to `gold.dim_zone` (SCD2) and keep the calendar dimensions covering the data;
3. decide the hours: given explicitly, or (default) every closed hour not computed yet plus the hours
   touched by silver rows written since the last run started (minus a margin);
4. per range of contiguous hours (at most a day): read bounded inputs, compute facts and metrics, run
   the gold quality suite, then replace exactly that range in each table (`replaceWhere`), retrying
   on Delta conflicts with the streaming jobs;
5. OPTIMIZE the partitions written (Z-order on zone and hour); record the run in `ops.gold_hourly_runs`.

A closed hour is one the sessionization watermark has passed: newest silver event time minus the
session watermark, floored to the hour.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import reduce

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.frames import kept_and_counted
from parkpal_lakehouse.gold import calendar
from parkpal_lakehouse.gold.facts import fact_gate_sessions, fact_parking_sessions, gate_visits
from parkpal_lakehouse.gold.hours import HOUR, contiguous_ranges, hours_between, local_dates, utc_hour
from parkpal_lakehouse.gold.inputs import between, gate_events_around, hourly_inputs
from parkpal_lakehouse.gold.keys import hour_of, pseudonym_key
from parkpal_lakehouse.gold.maintenance import optimize_dates
from parkpal_lakehouse.gold.metrics import zone_metrics_hourly
from parkpal_lakehouse.gold.quality import (
    RECONCILIATION_SUITE,
    ZONE_METRICS_SUITE,
    reconciliation,
    with_check_columns,
)
from parkpal_lakehouse.gold.schemas import BOUNDS_COLUMNS, HOURLY_RUNS_DDL, PARTITIONS, prepare_gold_tables
from parkpal_lakehouse.gold.views import create_views
from parkpal_lakehouse.gold.zones import apply_zone_changes
from parkpal_lakehouse.io.conflicts import with_conflict_retries
from parkpal_lakehouse.io.delta import overwrite_table, read_table, table_exists, table_version
from parkpal_lakehouse.io.writers import append_rows, replace_where, side_by_side
from parkpal_lakehouse.names import (
    DIM_DATE,
    DIM_HOUR,
    FACT_GATE_SESSIONS,
    FACT_PARKING_SESSIONS,
    HOURLY_RUNS,
    OPEN_SESSIONS,
    PARKING_SESSIONS,
    QUALITY_RESULTS,
    QUARANTINE,
    ZONE_METRICS_HOURLY,
    silver_table,
)
from parkpal_lakehouse.quality.runner import QualityGateFailed, check_quality, results_frame
from parkpal_lakehouse.sessions.backfill import repair_late_sessions
from parkpal_lakehouse.silver.reference import zones_reference

ZONE_HUBS = (Hub.GEOFENCE, Hub.GATE)
# The tables whose new rows can touch a computed hour (`touched_hours`); each pending run records their versions.
CHANGE_TABLES = (silver_table(Hub.GEOFENCE), silver_table(Hub.GATE), PARKING_SESSIONS, OPEN_SESSIONS, QUARANTINE)


@dataclass(frozen=True)
class HourlyReport:
    mode: str  # explicit | pending
    hours: list[datetime]
    ranges: list[tuple[datetime, datetime]]
    late_events_repaired: int = 0
    zone_versions: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    quality_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        if not self.hours:
            return ["no hours to compute (nothing new since the last run)"]
        spans = ", ".join(f"{a:%Y-%m-%d %H:%M} -> {b:%Y-%m-%d %H:%M}" for a, b in self.ranges[:4])
        more = f" (+{len(self.ranges) - 4} more ranges)" if len(self.ranges) > 4 else ""
        return [f"{len(self.hours)} hour(s) computed ({self.mode}) in {self.seconds:.1f}s: {spans}{more} UTC",
                "rows written: " + ", ".join(f"{k} {v:,}" for k, v in self.rows.items()),
                f"late events repaired first: {self.late_events_repaired:,}; zone versions added: {self.zone_versions}",
                "quality warnings: " + (", ".join(sorted(set(self.quality_warnings))) or "none")]


def _as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)  # collected in the process's zone: UTC (runtime/clock)


@dataclass(frozen=True)
class SilverBounds:
    """Oldest and newest event time in silver's event tables, and the newest gate event."""

    first: datetime | None
    newest: datetime | None
    gate_newest: datetime | None

    def closed_until(self, watermark_seconds: int) -> datetime | None:
        """End of the last closed hour: newest event time minus the session watermark, floored."""
        if self.newest is None:
            return None
        return (self.newest - timedelta(seconds=watermark_seconds)).replace(minute=0, second=0, microsecond=0)


def silver_bounds(spark: SparkSession, config: LakehouseConfig, recorded: SilverBounds | None = None) -> SilverBounds:
    """Read once per run, in one query over the three tables (Delta does not answer a timestamp's min/max
    from file statistics; one query instead of three saves their planning and Spark jobs: issue 21).

    With the bounds an earlier run `recorded`, only the `event_date` partitions that can hold the answer are
    read: the first event is in the dates up to the recorded first's, the newest in the dates from the
    recorded newest's on (`event_date` is the event time's date, so every row of a later date is later). A
    scan that finds no row on one of those sides (silver rewritten or restored since) is not trusted:
    everything is read, as without a record. So a run's cost does not grow with silver's days."""
    if recorded is not None and None not in (recorded.first, recorded.newest, recorded.gate_newest):
        low, high, gate_high = recorded.first.date(), recorded.newest.date(), recorded.gate_newest.date()
        row = _bounds_row(spark, config, lambda hub: (F.col("event_date") <= F.lit(low)) | (
            F.col("event_date") >= F.lit(gate_high if hub == Hub.GATE else high)))
        if _found_both_ends(row, low, high, gate_high):
            return _bounds_of(row)
    return _bounds_of(_bounds_row(spark, config, lambda _hub: F.lit(True)))


def _bounds_row(spark: SparkSession, config: LakehouseConfig, dates: Callable[[Hub], Column]) -> Row:
    """The first and newest event time of the three tables' rows on `dates(hub)` and the gate table's newest,
    then the same three for `event_date` (the dates the scan found)."""
    events = reduce(DataFrame.unionByName, [
        read_table(spark, config, silver_table(hub)).filter(dates(hub))
        .select("event_time", "event_date", F.lit(hub == Hub.GATE).alias("is_gate"))
        for hub in (Hub.ACTIVITY, *ZONE_HUBS)])
    gate = lambda column: F.max(F.when(F.col("is_gate"), F.col(column)))  # noqa: E731
    return events.agg(
        F.min("event_time").alias("first_event"), F.max("event_time").alias("newest_event"),
        gate("event_time").alias("gate_newest_event"), F.min("event_date").alias("first_date"),
        F.max("event_date").alias("newest_date"), gate("event_date").alias("gate_newest_date")).first()


def _bounds_of(row: Row) -> SilverBounds:
    return SilverBounds(_as_utc(row.first_event), _as_utc(row.newest_event), _as_utc(row.gate_newest_event))


def _found_both_ends(row: Row, low: date, high: date, gate_high: date) -> bool:
    """Whether a scan of the dates up to `low` and from `high` (the gate table's from `gate_high`) found rows on
    each side: then its first and newest are silver's, as every row it skipped is later than the first and
    earlier than the newest."""
    return (row.first_date is not None and row.first_date <= low and row.newest_date >= high
            and row.gate_newest_date is not None and row.gate_newest_date >= gate_high)


@dataclass(frozen=True)
class RecordedRuns:
    """What `ops.gold_hourly_runs` says for the next run: the silver bounds the newest successful run read, and
    the newest successful run that picked its own hours (an explicit run computes only the hours it was given,
    so the changes since an earlier pending run are still to be looked at)."""

    bounds: SilverBounds | None = None
    pending: Row | None = None


def recorded_runs(spark: SparkSession, config: LakehouseConfig) -> RecordedRuns:
    """Both in one read of `ops.gold_hourly_runs` (nothing on a first run; no bounds from a table written
    before runs recorded them)."""
    if not table_exists(spark, config, HOURLY_RUNS):
        return RecordedRuns()
    runs = read_table(spark, config, HOURLY_RUNS).filter(F.col("status") == "ok")
    has_bounds = set(BOUNDS_COLUMNS) <= set(runs.columns)
    whole = F.struct(*runs.columns)
    row = runs.agg(F.max_by(whole, "started_at").alias("newest"),
                   F.max_by(whole, F.when(F.col("mode") == "pending", F.col("started_at"))).alias("pending")).first()
    newest = row.newest
    bounds = SilverBounds(*(_as_utc(newest[c]) for c in BOUNDS_COLUMNS)) if has_bounds and newest else None
    return RecordedRuns(bounds, row.pending)


def closed_until(spark: SparkSession, config: LakehouseConfig) -> datetime | None:
    """End of the last closed hour: hours before it are final as far as sessionization knows."""
    bounds = silver_bounds(spark, config, recorded_runs(spark, config).bounds)
    return bounds.closed_until(config.sessions.watermark_seconds)


def _spans_to_hours(spans: DataFrame) -> list[datetime]:
    """`start_at, end_at` spans -> the distinct hours they touch."""
    hours = spans.filter(F.col("start_at").isNotNull()).select(F.explode(F.sequence(
        hour_of(F.col("start_at")), hour_of(F.coalesce("end_at", "start_at")), F.expr("INTERVAL 1 HOUR"))
    ).alias("h")).distinct().collect()
    return [_as_utc(r.h) for r in hours]


def touched_hours(spark: SparkSession, config: LakehouseConfig, since: datetime,
                  unchanged: frozenset[str] = frozenset()) -> list[datetime]:
    """Hours whose gold rows may differ because of silver rows written at or after `since`: the hour of
    every new zone event and quarantined record, the whole stay of every gated visit a new gate event
    belongs to, the whole search (entry to departure) of every session written or updated since.
    Tables in `unchanged` (no commit since the last run read them) are not read."""
    new = {hub: read_table(spark, config, silver_table(hub)).filter(F.col("processed_at") >= F.lit(since))
           for hub in ZONE_HUBS if silver_table(hub) not in unchanged}
    spans: list[DataFrame] = [rows.select(F.col("event_time").alias("start_at"), F.col("event_time").alias("end_at"))
                              for rows in new.values()]
    if Hub.GATE in new:
        spans += _gate_visit_spans(spark, config, new[Hub.GATE].select("event_id", "event_time"))
    if PARKING_SESSIONS not in unchanged:
        sessions = read_table(spark, config, PARKING_SESSIONS).filter(F.col("written_at") >= F.lit(since))
        spans.append(sessions.select(F.col("zone_entry_at").alias("start_at"),
                                     F.coalesce("departed_at", "closed_at").alias("end_at")))
    if OPEN_SESSIONS not in unchanged:
        running = read_table(spark, config, OPEN_SESSIONS).filter(F.col("updated_at") >= F.lit(since))
        spans.append(running.select(F.col("zone_entry_at").alias("start_at"), F.col("state_at").alias("end_at")))
    if QUARANTINE not in unchanged:
        quarantined = read_table(spark, config, QUARANTINE).filter(
            (F.col("quarantined_at") >= F.lit(since)) & F.col("hub").isin(*[h.value for h in ZONE_HUBS])
        ).select(F.expr("try_to_timestamp(get_json_object(body, '$.timestamp'))").alias("start_at"))
        spans.append(quarantined.withColumn("end_at", F.col("start_at")))
    if not spans:
        return []
    union = spans[0]
    for s in spans[1:]:
        union = union.unionByName(s)
    return _spans_to_hours(union)


def _gate_visit_spans(spark: SparkSession, config: LakehouseConfig, new_gate: DataFrame) -> list[DataFrame]:
    """The whole stay (entry to exit) of every gate visit a new gate event belongs to."""
    spans: list[DataFrame] = []
    low, high = new_gate.agg(F.min("event_time"), F.max("event_time")).first()
    if low is not None:
        visits = gate_visits(gate_events_around(spark, config, _as_utc(low), _as_utc(high)), config.gold.max_stay_hours)
        changed = visits.select("entry_at", "exit_at", F.explode("event_ids").alias("event_id")) \
            .join(new_gate.select("event_id"), "event_id")
        spans.append(changed.select(F.coalesce("entry_at", "exit_at").alias("start_at"),
                                    F.coalesce("exit_at", "entry_at").alias("end_at")))
    return spans


def change_versions(spark: SparkSession, config: LakehouseConfig) -> dict[str, int | None]:
    """The Delta version of each of `CHANGE_TABLES` (one small history read each)."""
    return {t: table_version(spark, config, t) for t in CHANGE_TABLES}


def pending_hours(spark: SparkSession, config: LakehouseConfig, bounds: SilverBounds | None = None,
                  versions: dict[str, int | None] | None = None, recorded: RecordedRuns | None = None
                  ) -> tuple[list[datetime], datetime | None]:
    """Closed hours never computed, plus closed hours touched by silver writes since the last run
    started (minus the margin); returns the hours and that `since` (None on a first run). `versions`:
    the change tables' versions now; a table still at the version the last run recorded is not read.
    `recorded`: `recorded_runs`, if the caller has read it."""
    recorded = recorded or recorded_runs(spark, config)
    bounds = bounds or silver_bounds(spark, config, recorded.bounds)
    first, until = bounds.first, bounds.closed_until(config.sessions.watermark_seconds)
    if first is None or until is None:
        return [], None
    done_until = read_table(spark, config, ZONE_METRICS_HOURLY).agg(F.max("hour_start")).first()[0]
    start = _as_utc(done_until) + HOUR if done_until else first.replace(minute=0, second=0, microsecond=0)
    hours = set(hours_between(start, until)) if until > start else set()
    previous, since = recorded.pending, None
    if previous is not None:
        since = _as_utc(previous.started_at) - timedelta(minutes=config.gold.change_margin_minutes)
        then = previous.asDict().get("table_versions") or {}
        unchanged = frozenset(t for t, v in (versions or {}).items() if t in then and then[t] == v)
        hours |= {h for h in touched_hours(spark, config, since, unchanged) if h < until}
    return sorted(hours), since


def refresh_calendar(spark: SparkSession, config: LakehouseConfig, bounds: SilverBounds, today: datetime) -> None:
    """`gold.dim_date` covering the data's years +- 1 (forecasts look ahead; `today`'s without data),
    `gold.dim_hour` once."""
    first, last = bounds.first, bounds.newest
    first_year, last_year = (first or today).year, (last or today).year
    want = (date(first_year - 1, 1, 1), date(last_year + 1, 12, 31))
    have = read_table(spark, config, DIM_DATE).agg(F.min("date"), F.max("date")).first()
    if have[0] is None or have[0] > want[0] or have[1] < want[1]:
        overwrite_table(calendar.dim_date(spark, *want), config, DIM_DATE)
    if read_table(spark, config, DIM_HOUR).count() != 24:
        overwrite_table(calendar.dim_hour(spark), config, DIM_HOUR)


def refresh_dimensions(spark: SparkSession, config: LakehouseConfig, zones: DataFrame, bounds: SilverBounds,
                       started: datetime, pending: bool) -> tuple[int, dict[str, int | None] | None]:
    """`gold.dim_zone`'s changes (the zone versions added), the calendar and, for a `pending` run, the change
    tables' versions (read before finding the hours: a commit after this is seen next run). Independent
    tables, so side by side: one's driver work (plans, Delta snapshots, commits) overlaps the others' (a pending
    run over the test city's day ~1 s faster on a new root, ~0.3 s with nothing new; issue 21, thirty-seventh
    part)."""
    versions, _, seen = side_by_side([
        lambda: with_conflict_retries(lambda: apply_zone_changes(spark, config, zones, started.replace(tzinfo=None)),
                                      config.gold.conflict_retries, "dim_zone"),
        lambda: refresh_calendar(spark, config, bounds, started),
        lambda: change_versions(spark, config) if pending else None,
    ])
    return versions, seen


def write_range(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime,
                writes: Sequence[tuple[str, DataFrame, str]]) -> None:
    """Replace [start, end) of each (table, frame, hour column): three tables, each replace idempotent and retried
    on its own conflicts, side by side (issue 21)."""
    side_by_side([lambda t=table, f=frame, c=column: with_conflict_retries(
        lambda: replace_where(f, config, t, _predicate(c, start, end), PARTITIONS[t]),
        config.gold.conflict_retries, f"write {t}") for table, frame, column in writes])


def _predicate(column: str, start: datetime, end: datetime) -> str:
    return (f"{column} >= TIMESTAMP'{start:%Y-%m-%d %H:%M:%S}Z' "
            f"AND {column} < TIMESTAMP'{end:%Y-%m-%d %H:%M:%S}Z'")


def compute_range(spark: SparkSession, config: LakehouseConfig, start: datetime, end: datetime, key: str,
                  gate_horizon_ms: int | None) -> tuple[dict[str, int], list[str], list[date]]:
    """Compute and write [start, end); returns rows written per table, quality warnings, local dates written."""
    tz, max_stay = config.timezone, config.gold.max_stay_hours
    inputs = hourly_inputs(spark, config, start, end)
    # Each kept frame is counted by the job that keeps it: the checks and the run's report need the numbers.
    metrics, metric_rows = kept_and_counted(zone_metrics_hourly(inputs, tz, config.gold.estimate_interval))
    reconciled, reconciled_rows = kept_and_counted(reconciliation(metrics, inputs))
    checks = [check_quality(with_check_columns(metrics), ZONE_METRICS_HOURLY, ZONE_METRICS_SUITE, window=(start, end),
                            rows=metric_rows),
              check_quality(reconciled, "gold.reconciliation", RECONCILIATION_SUITE, window=(start, end),
                            rows=reconciled_rows)]
    results = [r for c in checks for r in c.results]
    append_rows(results_frame(spark, results), config, QUALITY_RESULTS)
    failed = [name for c in checks for name in c.failed]
    if failed:
        raise QualityGateFailed(f"gold quality failed for {start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC: {', '.join(failed)}; "
                                "nothing of this range was written")
    sessions, session_rows = kept_and_counted(fact_parking_sessions(inputs.sessions, key, tz))
    visits, visit_rows = kept_and_counted(fact_gate_sessions(inputs.gate_visits, key, tz, gate_horizon_ms, max_stay)
                                          .filter(between("visit_hour", start, end)))
    writes = ((ZONE_METRICS_HOURLY, metrics, "hour_start"), (FACT_PARKING_SESSIONS, sessions, "entry_hour"),
              (FACT_GATE_SESSIONS, visits, "visit_hour"))
    write_range(spark, config, start, end, writes)
    rows = {ZONE_METRICS_HOURLY: metric_rows, FACT_PARKING_SESSIONS: session_rows, FACT_GATE_SESSIONS: visit_rows}
    return rows, [w for c in checks for w in c.warnings], local_dates(hours_between(start, end), tz)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_run_id() -> str:
    return str(uuid.uuid4())


def run_hourly(spark: SparkSession, config: LakehouseConfig, hours: Sequence[datetime] | None = None,
               repair: bool = True, progress: Callable[[str], None] = print, dbutils: object | None = None,
               now: Callable[[], datetime] = _utc_now, run_id: Callable[[], str] = _new_run_id) -> HourlyReport:
    """Compute the given hours (UTC, whole hours), or the pending ones; see the module docstring.

    `now` and `run_id` are the clock and the id of the run's `ops.gold_hourly_runs` row (injected by
    tests); `now()` at the start also stamps the zone versions it opens in `gold.dim_zone`."""
    started, clock = now(), time.perf_counter()
    zones = zones_reference(spark, config)
    chosen: list[datetime] = []
    recorded = recorded_runs(spark, config)
    bounds = silver_bounds(spark, config, recorded.bounds)
    if hours is not None:  # explicit hours must be closed: fail before doing anything
        chosen = sorted({utc_hour(h) for h in hours})
        until = bounds.closed_until(config.sessions.watermark_seconds)
        if chosen and (until is None or chosen[-1] >= until):
            reach = f"closed hours end at {until:%Y-%m-%dT%H:%M}" if until else "silver has no events yet"
            raise ConfigError(f"hour {chosen[-1]:%Y-%m-%dT%H:%M} UTC is not closed yet ({reach}); "
                              "it is computed once the data has passed it")
    prepare_gold_tables(spark, config)
    key = pseudonym_key(config, dbutils)
    repaired = 0
    if repair:
        repaired = with_conflict_retries(lambda: repair_late_sessions(spark, config), config.gold.conflict_retries,
                                         "session repair").late_events_repaired
    mode = "explicit" if hours is not None else "pending"
    # an explicit run records no versions: the next pending run never starts from it
    versions, seen = refresh_dimensions(spark, config, zones, bounds, started, pending=hours is None)
    since = None
    if hours is None:
        chosen, since = pending_hours(spark, config, bounds, seen, recorded)
    ranges = contiguous_ranges(chosen)
    newest = bounds.gate_newest
    gate_horizon_ms = int(newest.timestamp() * 1000) if newest else None
    rows: dict[str, int] = {}
    warnings: list[str] = []
    dates: set[date] = set()
    began = time.perf_counter()
    for i, (a, b) in enumerate(ranges, 1):
        done = time.perf_counter() - began
        eta = f", about {done / (i - 1) * (len(ranges) - i + 1):.0f}s to go" if i > 1 else ""
        progress(f"gold: {a:%Y-%m-%d %H:%M} -> {b:%Y-%m-%d %H:%M} UTC ({i}/{len(ranges)}{eta})")
        written, warned, touched = compute_range(spark, config, a, b, key, gate_horizon_ms)
        for table, n in written.items():
            rows[table] = rows.get(table, 0) + n
        warnings += warned
        dates |= set(touched)
    create_views(spark, config)
    if dates and config.gold.optimize_after_write:
        optimize_dates(spark, config, sorted(dates))
    report = HourlyReport(mode, chosen, ranges, repaired, versions, rows, warnings, time.perf_counter() - clock)
    run = spark.createDataFrame([(
        run_id(), started, now(), mode, since, len(chosen),
        chosen[0] if chosen else None, chosen[-1] if chosen else None, report.seconds, "ok", seen,
        bounds.first, bounds.newest, bounds.gate_newest)],
        HOURLY_RUNS_DDL)
    append_rows(run, config, HOURLY_RUNS)
    return report

