"""Where the streaming sessionization's time goes, per call (issue 21).

A simulated city (default 1 day, 50 zones, 5,000 users, chatty phones) goes to silver once; then the
production streaming query runs over it (availableNow) with its processor's call timed inside the Python
worker, per call (with rows / timed out) and per part (state read, events from the rows, `step_bucket`,
state write, output frame), summed over tasks. The batch writer is timed too:
computing the processor's output (the stateful part) apart from the session tables' writes. The
batch twin runs beside it into Spark's no-op sink, for the like-for-like reference.

    .venv/bin/python benchmarks/sessionization_profile.py [--days 1] [--device chatty]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import timed  # noqa: E402
from ingestion_throughput import run_all  # noqa: E402

import parkpal_lakehouse.sessions.streaming as streaming  # noqa: E402
from parkpal_lakehouse.config import StreamSettings, local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub  # noqa: E402
from parkpal_lakehouse.ingestion import prepare_tables, start_bronze, start_silver  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.sessions.backfill import data_horizon_ms, silver_events_batch  # noqa: E402
from parkpal_lakehouse.sessions.batch import circling_sessions  # noqa: E402
from parkpal_lakehouse.sessions.inputs import zone_geometry  # noqa: E402
from parkpal_lakehouse.sessions.store import prepare_session_tables  # noqa: E402
from parkpal_lakehouse.silver.reference import load_reference_tables, zones_reference  # noqa: E402
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def timed_processor(out_dir: str) -> type:
    """The production processor with each call's parts timed; each worker process's totals written to
    `out_dir` after every call, a file per task (`applyInPandasWithState` has no hook at a task's end)."""

    class TimedProcessor(streaming.CirclingProcessor):
        def __call__(self, key, frames, state):
            totals = getattr(self, "totals", None)
            if totals is None:
                totals = self.totals = {}
            clock = [time.perf_counter()]

            def lap(part: str) -> None:
                now = time.perf_counter()
                _add(totals, part, now - clock[0])
                clock[0] = now

            started = clock[0]
            watermark = state.getCurrentWatermarkMs()
            rows = streaming.read_bucket(state)
            lap("state read")
            events = streaming.events_by_user(frames)
            lap("events from rows")
            kept, out = self.step(rows, events, watermark)
            lap("step_bucket")
            streaming.write_bucket(state, kept, watermark)
            lap("state write")
            frame = streaming.rows_frame(out) if out else None
            lap("output frame")
            _add(totals, "call: timed out" if state.hasTimedOut else "call: with rows", time.perf_counter() - started)
            (Path(out_dir) / f"{os.getpid()}-{id(self)}.json").write_text(json.dumps(totals))  # one file per task
            if frame is not None:
                yield frame

    return TimedProcessor


def _add(totals: dict, key: str, seconds: float) -> None:
    entry = totals.setdefault(key, [0, 0.0])
    entry[0] += 1
    entry[1] += seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--device", choices=("platform", "chatty"), default="chatty")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-profile-sessions-"))
    root, calls = tmp / "city", tmp / "calls"
    calls.mkdir()
    try:
        simulate(SimulationSettings(seed=1, days=args.days, device=args.device), root)
        spark = get_spark(local_config(root), LocalSparkSettings())
        config = replace(local_config(root), stream=StreamSettings(quality_checks=False))
        load_reference_tables(spark, config, root / "reference")
        prepare_tables(spark, config, list(Hub))
        run_all(spark, config, start_bronze)
        run_all(spark, config, start_silver)
        prepare_session_tables(spark, config)
        events = silver_events_batch(spark, config).count()
        zones = zone_geometry(zones_reference(spark, config))
        horizon = data_horizon_ms(silver_events_batch(spark, config), config.sessions.watermark_seconds)

        def batch_twin() -> None:
            circling_sessions(silver_events_batch(spark, config), zones, config.rules, horizon,
                              config.sessions.state_buckets) \
                .write.format("noop").mode("overwrite").save()

        batch_twin()  # warm
        _, batch_s = timed(batch_twin)

        batches: list[str] = []
        production_writer = streaming.session_batch_writer

        def writer(config_, name):
            write = production_writer(config_, name)

            def timed_write(batch, batch_id: int) -> None:
                started = time.perf_counter()
                batch = batch.persist()
                rows = batch.count()
                computed = time.perf_counter() - started
                write(batch, batch_id)
                batches.append(f"    batch {batch_id}: processor {computed:.1f} s ({rows:,} rows out), "
                               f"session-table writes {time.perf_counter() - started - computed:.1f} s")

            return timed_write

        streaming.CirclingProcessor = timed_processor(str(calls))
        streaming.session_batch_writer = writer
        query, stream_s = timed(lambda: _run(streaming.start_sessions(spark, config)))
    finally:
        totals: dict = {}
        for path in calls.glob("*.json") if calls.exists() else []:
            for key, (n, seconds) in json.loads(path.read_text()).items():
                entry = totals.setdefault(key, [0, 0.0])
                entry[0] += n
                entry[1] += seconds
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"sessionization profile: {events:,} session events ({args.days} day(s), 50 zones, 5,000 users, "
          f"{args.device} phones), 2 cores")
    print(f"  batch twin, no-op sink (warm)          {batch_s:6.1f} s  {events / batch_s:>8,.0f} events/s")
    print(f"  streaming query with its writes        {stream_s:6.1f} s  {events / stream_s:>8,.0f} events/s, "
          f"{len(query.recentProgress)} micro-batches")
    print("\n".join(batches))
    print("  inside the Python worker (summed over tasks):")
    for key, (n, seconds) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"    {key:<22} {n:>8,} calls  {seconds:6.2f} s  {1e6 * seconds / max(1, n):7.0f} us per call")


def _run(query):
    query.awaitTermination()
    return query


if __name__ == "__main__":
    main()
