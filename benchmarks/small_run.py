"""Fixed costs of a small run (issue 21): what a new root, the demo and most tests pay before any event.

The test suite's city (8 zones, 400 users, 1 day, ~7,000 messages) goes landing -> bronze -> silver ->
sessions (availableNow) and through the hourly gold job, on a fresh root each time, in one warm session
(the first city warms it up and is not reported), `--cities` times. Each step is timed by calling it on
its own, in the order the streaming and hourly jobs run them, beside a reference measured in the same
session: the plainest Spark job over the same landing files (read text -> write Delta, the three hubs).

    .venv/bin/python benchmarks/small_run.py [--cities 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))  # the checkout: tests/support's Spark job counters
from _measure import timed  # noqa: E402
from ingestion_throughput import jvm_peak_mib, raw_references  # noqa: E402
from tests.support.spark_jobs import spark_counters  # noqa: E402

from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub  # noqa: E402
from parkpal_lakehouse.gold.hourly import run_hourly  # noqa: E402
from parkpal_lakehouse.gold.status import newest_event_time, write_zone_status  # noqa: E402
from parkpal_lakehouse.ingestion import prepare_tables, run_ingestion  # noqa: E402
from parkpal_lakehouse.io.delta import read_table  # noqa: E402
from parkpal_lakehouse.names import PIPELINE_PROGRESS  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.silver.reference import load_reference_tables  # noqa: E402
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402

# The test suite's small city (tests/support/city.py: a Wednesday, gated and street zones), the same
# each time, simulated anew on each fresh root.
CITY = SimulationSettings(seed=3, zones=8, users=400, days=1, start_date=date(2026, 11, 4))


def one_city(spark, root: Path) -> dict[str, float]:
    """Seconds per step of one small city on a fresh root."""
    report = simulate(CITY, root)
    config = local_config(root)
    load_reference_tables(spark, config, root / "reference")
    seconds: dict[str, float] = {"messages": report.messages}
    seconds["reference: text -> Delta"] = report.messages / raw_references(
        spark, root / "landing", root / "raw", kinds=("text",))["text"]
    _, seconds["prepare tables (13, new root)"] = timed(lambda: prepare_tables(spark, config, list(Hub), sessions=True))
    queries: dict[str, float] = {}
    _, seconds["ingestion, whole"] = timed(lambda: run_ingestion(
        spark, config, list(Hub), progress=lambda _m: None, sessions=True))
    for row in read_table(spark, config, PIPELINE_PROGRESS).collect():  # micro-batches that ran
        layer = "sessions" if row.query_name.endswith("sessions") else row.query_name.split("_", 1)[0]
        queries[layer] = queries.get(layer, 0.0) + row.batch_duration_ms / 1000
    # summed over a layer's queries, which run side by side: more than their wall time
    seconds.update({f"  {layer}: its micro-batches, summed": s for layer, s in sorted(queries.items())})
    _, seconds["zone status rewrite, alone"] = timed(lambda: write_zone_status(spark, config, "bench", 0))
    seconds.update(status_rewrites(spark, config))
    hourly, seconds["hourly gold, pending run"] = timed(lambda: run_hourly(spark, config, progress=lambda _m: None))
    seconds["hours"] = len(hourly.hours)
    return seconds


def status_rewrites(spark, config, rewrites: int = 5) -> dict[str, float]:
    """The sessions writer's status step as a micro-batch runs it (`as_of` given: no scan for the newest
    event), `rewrites` times at instants an hour apart: the median seconds and Spark jobs of one."""
    newest = newest_event_time(spark, config)
    seconds, jobs = [], []
    for i in range(rewrites):
        as_of = newest - timedelta(seconds=config.sessions.watermark_seconds, hours=i)
        first = spark_counters()[0]
        _, took = timed(lambda batch=i, at=as_of: write_zone_status(spark, config, "bench-batches", batch, at))
        seconds.append(took)
        jobs.append(spark_counters()[0] - first)
    return {f"zone status rewrite in a micro-batch (median of {rewrites})": statistics.median(seconds),
            "  its Spark jobs": statistics.median(jobs)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", type=int, default=3, help="measured cities after the warm-up one")
    args = parser.parse_args()
    if args.cities < 1:
        parser.error("--cities must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-small-"))
    try:
        spark = get_spark(local_config(tmp / "spark"), LocalSparkSettings(shuffle_partitions=2))
        one_city(spark, tmp / "warm-up")
        runs = [one_city(spark, tmp / f"city{i}") for i in range(args.cities)]
        print(f"small run: 8 zones, 400 users, 1 day ({statistics.median(r['messages'] for r in runs):,.0f} "
              f"messages, median); {args.cities} cities on fresh roots after a warm-up city; 2 cores; seconds, "
              "median (min-max)")
        reference = statistics.median(r["reference: text -> Delta"] for r in runs)
        for step in runs[0]:
            if step in ("messages", "hours"):
                continue
            values = [r.get(step, 0.0) for r in runs]
            ratio = f"{statistics.median(values) / reference:7.1f}x reference" if not step.startswith("  ") else ""
            print(f"  {step:<46} {statistics.median(values):7.2f}  ({min(values):.2f}-{max(values):.2f}) {ratio}")
        print(f"  hours computed by the gold run: {statistics.median(r['hours'] for r in runs):.0f}")
        print(f"  Spark driver peak memory (VmHWM)               {jvm_peak_mib(spark):,.0f} MiB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
