"""Hourly gold job benchmark: one hour and one day for 200 zones, with 1 day vs 30 days of history.

1. A simulated day for 200 zones and 20,000 users (noise on) through landing -> bronze -> silver ->
   sessions (availableNow, GX off: the streaming side is measured by the other benchmarks).
2. Gold for one hour (the morning peak) and for the whole day on that 1-day history, next to a
   reference measured in the same run: the simplest hourly aggregate (read the day's zone events from
   silver, count per zone and hour, write Delta).
3. 29 more days of history are added in front in a copy of that root (the day's silver zone tables and
   sessions, shifted back 1..29 days, with new ids), and the same hour and day are computed on each root
   back to back, `--rounds` times (the order swapped each round): the cost of an hour must not grow with
   history. Also timed: finding the pending hours when nothing changed. Each figure is the best of its
   runs; each ratio 30-day / 1-day is printed from those and as the median of the rounds' own ratios (two
   runs seconds apart), and includes the reference's own, which no gold code touches: what is left of the
   process's and the machine's drift within a round.
   A third root with one earlier day (`--near-history-days 2`) runs in the same turns: the 1-day root has
   nothing before its day, so its hour's lookback and the penetration's window read less than any later
   day's would; 30-day / 2-day is the growth with history once the lookback holds a day (issue 21).
4. One one-hour run step by step, the first after the history was added: each step's seconds and Spark jobs,
   by kind (issue 21: where the fixed cost is).

    .venv/bin/python benchmarks/gold_hourly.py [--zones 200] [--users 20000] [--history-days 30]
        [--near-history-days 2] [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))  # the checkout: tests/support's Spark job counters
from _measure import peak_rss_mib, timed  # noqa: E402
from ingestion_throughput import jvm_peak_mib  # noqa: E402
from pyspark.sql import DataFrame  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import DateType, TimestampType  # noqa: E402
from tests.support.spark_jobs import spark_counters, spark_job_kinds  # noqa: E402

from parkpal_lakehouse.config import StreamSettings, local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub  # noqa: E402
from parkpal_lakehouse.gold.hourly import pending_hours, run_hourly  # noqa: E402
from parkpal_lakehouse.gold.hours import hours_between  # noqa: E402
from parkpal_lakehouse.ingestion import run_ingestion  # noqa: E402
from parkpal_lakehouse.io.delta import delta_table, overwrite_table, read_table, table_exists
from parkpal_lakehouse.io.writers import append_rows  # noqa: E402
from parkpal_lakehouse.names import GATE_ENTRY_COUNTS, PARKING_SESSIONS, QUARANTINE, silver_table
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.silver.reference import load_reference_tables
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402

HOUR = timedelta(hours=1)
# Tables the hourly job reads by date, and the id columns that must stay unique in shifted copies.
HISTORY_TABLES = {
    silver_table(Hub.GATE): ("event_id", "entry_event_id", "transaction_id", "record_id"),
    silver_table(Hub.GEOFENCE): ("event_id", "record_id"),
    PARKING_SESSIONS: ("session_id",),
    QUARANTINE: ("record_id",),
}


def shifted(df: DataFrame, days: int, ids: tuple[str, ...]) -> DataFrame:
    """`df` moved `days` back in time (every timestamp and date column), ids suffixed to stay unique."""
    out = []
    for field in df.schema.fields:
        c = F.col(field.name)
        if isinstance(field.dataType, TimestampType):
            c = c - F.expr(f"INTERVAL {days} DAYS")
        elif isinstance(field.dataType, DateType):
            c = F.date_sub(c, days)
        elif field.name in ids:
            c = F.concat(c, F.lit(f"~h{days}"))
        out.append(c.alias(field.name))
    return df.select(*out)


def add_history(spark, config, days: int) -> None:
    """Earlier days as copies of the simulated one. A car still inside at the end of the simulated day
    has no exit in it; in a copy it would never leave (a real earlier day's cars left the next day), so
    those entries are not copied. The copies were written to silver `k` days before the simulated day (their
    `processed_at` moves back with them), so the earlier days the warm-up run kept in `gold.gate_entry_counts`
    (counted then as days without entries) are dropped: a lakehouse that had those days counted them after they
    were written."""
    gate = read_table(spark, config, silver_table(Hub.GATE))
    exited = gate.filter("event_type = 'VEHICLE_EXIT'").select(F.col("entry_event_id").alias("event_id"))
    still_inside = gate.filter("event_type = 'VEHICLE_ENTRY'").select("event_id").join(exited, "event_id", "left_anti")
    for table, ids in HISTORY_TABLES.items():
        source = read_table(spark, config, table)
        if table == silver_table(Hub.GATE):
            source = source.join(still_inside, "event_id", "left_anti").select(*gate.columns)
        day = source.collect()  # one day: fits; the copies are written from it
        base = spark.createDataFrame(day, read_table(spark, config, table).schema)
        copies = None
        for k in range(1, days):
            part = shifted(base, k, ids)
            copies = part if copies is None else copies.unionByName(part)
        append_rows(copies, config, table)
    if table_exists(spark, config, GATE_ENTRY_COUNTS):
        delta_table(spark, config, GATE_ENTRY_COUNTS).delete()


def reference_aggregate(spark, config, start: datetime, end: datetime) -> None:
    columns = ("zone_id", "event_time", "event_date")
    events = read_table(spark, config, silver_table(Hub.GATE)).select(*columns).unionByName(
        read_table(spark, config, silver_table(Hub.GEOFENCE)).select(*columns))
    counts = events.filter(F.col("event_date").between(start.date(), end.date())
                           & (F.col("event_time") >= F.lit(start)) & (F.col("event_time") < F.lit(end))) \
        .groupBy("zone_id", F.date_trunc("hour", "event_time").alias("hour_start")).count()
    overwrite_table(counts, config, "ops.benchmark_reference_counts")


# An explicit `run_hourly`'s steps, as named in `gold.hourly` (reached through that module, so they can be
# timed in place; `pending_hours` runs only when the run picks its own hours, which this one does not).
STEPS = ("recorded_runs", "silver_bounds", "refresh_dimensions", "hourly_inputs", "check_quality", "append_rows",
         "write_range", "create_views")


def step_breakdown(spark, step) -> tuple[float, int, dict[str, tuple[float, int, Counter]]]:
    """Run `step` (one `run_hourly`) once with each of `STEPS` timed where it is called: its seconds, Spark
    jobs and their kinds (Spark's job description or call site: `tests/support/spark_jobs.py`). Nested steps
    count once (`refresh_dimensions` is the zones and the calendar side by side, `write_range` the range's three
    writes, `hourly_inputs` the inputs' reads side by side);
    a lazy frame's jobs count where it is computed."""
    import parkpal_lakehouse.gold.hourly as hourly

    found: dict[str, tuple[float, int, Counter]] = {}
    reading = [0.0]  # seconds spent reading the job kinds, not the run's

    def wrapped(name, function):
        def timed_step(*args, **kwargs):
            first, started = spark_counters()[0], time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds, end = time.perf_counter() - started, spark_counters()[0]
                before, read_from = found.get(name, (0.0, 0, Counter())), time.perf_counter()
                found[name] = (before[0] + seconds, before[1] + end - first, before[2] + spark_job_kinds(first, end))
                reading[0] += time.perf_counter() - read_from
        return timed_step

    originals = {name: getattr(hourly, name) for name in STEPS}
    first, started = spark_counters()[0], time.perf_counter()
    try:
        for name, function in originals.items():
            setattr(hourly, name, wrapped(name, function))
        step()
    finally:
        for name, function in originals.items():
            setattr(hourly, name, function)
    return time.perf_counter() - started - reading[0], spark_counters()[0] - first, found


def without_optimize(config):
    """The job's own work only: OPTIMIZE after the write is maintenance, measured apart."""
    return replace(config, gold=replace(config.gold, optimize_after_write=False))


def measure_in_turn(spark, histories: dict[str, object], hour: list[datetime], day: list[datetime], rounds: int
                    ) -> dict[tuple[str, str], list[float]]:
    """Every step once on each history, back to back, `rounds` times (the histories' order swapped each round):
    the two runs of a pair are seconds apart, not the minutes of a block, so a drifting machine moves both."""
    quiet = lambda _m: None  # noqa: E731
    steps = {"one hour": lambda c: run_hourly(spark, c, hour, repair=False, progress=quiet),
             "one day": lambda c: run_hourly(spark, c, day, repair=False, progress=quiet),
             "pending check": lambda c: pending_hours(spark, c),
             "reference": lambda c: reference_aggregate(spark, c, day[0], day[-1] + HOUR)}
    order = [(label, without_optimize(config)) for label, config in histories.items()]
    runs: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        for what, step in steps.items():
            for label, config in (order if r % 2 == 0 else order[::-1]):
                runs.setdefault((label, what), []).append(timed(lambda s=step, c=config: s(c))[1])
        print(f"  round {r + 1}: " + "; ".join(f"{label} {what} {runs[(label, what)][-1]:.1f} s"
                                                for what in steps for label, _ in order), flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=200)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--near-history-days", type=int, default=None,
                        help="a third root with this many days of history, run in the same turns (default 2 when "
                             "--history-days is more; 0: none)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="each figure is the best of this many runs (one hour, one day, pending check, reference)")
    parser.add_argument("--root", type=Path, default=None,
                        help="work in this folder and keep it (default: a temporary folder, removed after)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.near_history_days is None:
        args.near_history_days = 2 if args.history_days > 2 else 0
    if args.near_history_days and not 1 < args.near_history_days < args.history_days:
        parser.error("--near-history-days must be 0 or between 1 and --history-days (both excluded)")
    root = args.root.resolve() if args.root else Path(tempfile.mkdtemp(prefix="parkpal-bench-gold-"))
    long_root = Path(tempfile.mkdtemp(prefix="parkpal-bench-gold-history-"))
    try:
        settings = SimulationSettings(days=1, zones=args.zones, users=args.users)
        if not (root / "truth" / "manifest.json").is_file():
            report, seconds = timed(lambda: simulate(settings, root))
            print(f"simulated 1 day, {args.zones} zones, {args.users:,} users: {report.messages:,} messages "
                  f"({seconds:.0f}s)")
        config = replace(local_config(root), stream=StreamSettings(quality_checks=False))
        spark = get_spark(config, LocalSparkSettings(driver_memory="6g"))
        load_reference_tables(spark, config, root / "reference")
        _, seconds = timed(lambda: run_ingestion(spark, config, list(Hub), progress=lambda _m: None, sessions=True))
        print(f"landing -> bronze -> silver -> sessions: {seconds:.0f}s")
        manifest = json.loads((root / "truth" / "manifest.json").read_text())
        start = datetime.fromtimestamp(manifest["window_start"], UTC)
        day = hours_between(start, start + timedelta(hours=23))  # the last hour is not closed
        hour = [start + timedelta(hours=16)]  # 08:00 in Manila: the morning peak
        run_hourly(spark, config, day[:1], repair=False, progress=lambda _m: None)  # dims, warm-up
        # The long history goes into a copy, so the two histories can be run back to back in this process: a machine
        # or process that drifts over minutes moves both runs of a pair the same way.
        copy = long_root / "root"
        shutil.copytree(root, copy)
        long_config = replace(local_config(copy), stream=StreamSettings(quality_checks=False))
        _, seconds = timed(lambda: add_history(spark, long_config, args.history_days))
        rows = read_table(spark, long_config, silver_table(Hub.GATE)).count()
        print(f"history: {args.history_days} days in the zone tables of a copy ({rows:,} gate events) added in "
              f"{seconds:.0f}s")
        short, long_ = "1-day history", f"{args.history_days}-day history"
        histories, days_of = {short: config}, {short: 1}
        if args.near_history_days:
            near_copy = long_root / "near"
            shutil.copytree(root, near_copy)
            near_config = replace(local_config(near_copy), stream=StreamSettings(quality_checks=False))
            add_history(spark, near_config, args.near_history_days)
            # its first run after the history counts the earlier day's entries, as the long root's step breakdown does
            run_hourly(spark, without_optimize(near_config), hour, repair=False, progress=lambda _m: None)
            near = f"{args.near_history_days}-day history"
            histories[near], days_of[near] = near_config, args.near_history_days
        histories[long_] = long_config
        seconds, jobs, steps = step_breakdown(spark, lambda: run_hourly(
            spark, without_optimize(long_config), hour, repair=False, progress=lambda _m: None))
        print(f"one one-hour run ({args.history_days}-day history, the first run since it was added), step by step: "
              f"{seconds:.1f} s, {jobs} Spark jobs")
        for name, (step_s, step_jobs, kinds) in steps.items():
            print(f"  {name:<20}{step_s:6.2f} s {step_jobs:4d} jobs: "
                  + "; ".join(f"{n} {kind[:48]}" for kind, n in kinds.most_common(4)))
        rest_s, rest_jobs = seconds - sum(v[0] for v in steps.values()), jobs - sum(v[1] for v in steps.values())
        print(f"  {'the rest':<20}{rest_s:6.2f} s {rest_jobs:4d} jobs (the metrics, the reconciliation and "
              "the facts kept with localCheckpoint, each counted by its checkpoint's job)")
        runs = measure_in_turn(spark, histories, hour, day, args.rounds)
        figures = {f"{label} {what}": min(times) for (label, what), times in runs.items()}
        zone_hours = args.zones * len(day)
        print(f"\nhourly gold job (wall time, best of {args.rounds}; the histories run back to back each round)")
        for name, value in figures.items():
            print(f"  {name:<36}{value:8.1f} s")
        # Beside the ratio of the bests, each round's own (the 30-day run over the shorter history's run in the same
        # round) and their median; the reference's, which no gold code touches, is what is left of the drift in a round.
        for base, days in days_of.items():
            for what in ("one hour", "one day", "pending check", "reference"):
                ratio = figures[f"{long_} {what}"] / figures[f"{base} {what}"]
                pairs = [a / b for a, b in zip(runs[(long_, what)], runs[(base, what)], strict=True)]
                print(f"  ratio {args.history_days}d / {days}d, {what:<20}{ratio:8.2f}   (median of the rounds' "
                      f"{statistics.median(pairs):.2f}: " + ", ".join(f"{r:.2f}" for r in pairs) + ")")
        print(f"  one day = {zone_hours:,} zone-hours: {zone_hours / figures[f'{short} one day']:,.0f} zone-hours/s")
        print(f"  Spark driver peak memory (VmHWM)     {jvm_peak_mib(spark):8,.0f} MiB; "
              f"Python {peak_rss_mib():,.0f} MiB")
    finally:
        shutil.rmtree(long_root, ignore_errors=True)
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
