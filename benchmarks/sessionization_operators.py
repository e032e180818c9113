"""Which Spark operator carries the streaming sessionization: the production one beside the one before it.

Issue 21 asks the streaming processor to be at least as fast as its batch twin. Until its thirty-fifth part the
stream kept its state with `transformWithStateInPandas`, to which PySpark hands its input rows one by one
(docs/sessionization.md, twenty-fourth part); it now uses `applyInPandasWithState` (`sessions/streaming.py`),
which slices each group's rows straight from Arrow, as the twin's `applyInPandas` does. Both run the same work
per bucket of users (`streaming.step_bucket`: the same rules, the same state rows), so this measures the
operators, not the rules.

A simulated city (default 6 days of chatty phones, 50 zones, 5,000 users) goes to silver once (GX off); then,
round after round in one warm session, each into Spark's no-op sink over the same silver tables:
- the batch twin (`batch.circling_sessions`), the reference;
- the production stream (`streaming.circling_rows`: `applyInPandasWithState`, availableNow, a fresh checkpoint;
  a new query's first micro-batch applied up to each user's newest event minus `watermark_seconds`);
- the same buffering its first micro-batch whole (`buffer_first_batch`), as the stream did before;
- the stream as it was before: `transformWithStateInPandas` keyed by the same buckets, their users'
  `BUCKET_STATE_SCHEMA` rows in one list state, one event-time timer per bucket, the first micro-batch buffered
  (`TransformWithStateProcessor`).
Then each stream once more into memory: their closed sessions must be the same rows.

    .venv/bin/python benchmarks/sessionization_operators.py [--days 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import pandas as pd  # noqa: E402
from _measure import timed  # noqa: E402
from ingestion_throughput import run_all  # noqa: E402
from pyspark.sql import DataFrame  # noqa: E402
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle  # noqa: E402
from pyspark.sql.streaming.stateful_processor import ExpiredTimerInfo, TimerValues  # noqa: E402

from parkpal_lakehouse.config import CirclingRules, SessionSettings, StreamSettings, local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub  # noqa: E402
from parkpal_lakehouse.ingestion import prepare_tables, start_bronze, start_silver  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.sessions.backfill import data_horizon_ms, silver_events_batch  # noqa: E402
from parkpal_lakehouse.sessions.batch import (  # noqa: E402
    BUCKET,
    SESSION_ROW_DDL,
    circling_sessions,
    events_by_user,
    rows_frame,
    user_bucket,
)
from parkpal_lakehouse.sessions.inputs import RULE_COLUMNS, zone_geometry  # noqa: E402
from parkpal_lakehouse.sessions.rules import ZoneGeometry  # noqa: E402
from parkpal_lakehouse.sessions.state import BUCKET_STATE_SCHEMA  # noqa: E402
from parkpal_lakehouse.sessions.store import prepare_session_tables  # noqa: E402
from parkpal_lakehouse.sessions.streaming import (  # noqa: E402
    bucket_timer,
    circling_rows,
    silver_session_events,
    state_name,
    step_bucket,
)
from parkpal_lakehouse.silver.reference import load_reference_tables, zones_reference  # noqa: E402
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


class TransformWithStateProcessor(StatefulProcessor):
    """The stream's processor before the thirty-fifth part: `step_bucket` under `transformWithStateInPandas`,
    a bucket's rows in one list state, its earliest timer registered (Spark removes a timer once fired)."""

    def __init__(self, rules: CirclingRules, zones: dict[int, ZoneGeometry], settings: SessionSettings):
        self.rules, self.zones = rules, zones
        self.late_horizon_ms, self.state_name = settings.late_horizon_ms, state_name(settings)

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.state = handle.getListState(self.state_name, BUCKET_STATE_SCHEMA)

    def handleInputRows(self, key: tuple, rows: Iterator[pd.DataFrame], timerValues: TimerValues
                        ) -> Iterator[pd.DataFrame]:
        yield from self._step(timerValues, events_by_user(rows), None)

    def handleExpiredTimer(self, key: tuple, timerValues: TimerValues, expiredTimerInfo: ExpiredTimerInfo
                           ) -> Iterator[pd.DataFrame]:
        yield from self._step(timerValues, {}, expiredTimerInfo.getExpiryTimeInMs())

    def _step(self, timer_values: TimerValues, events: dict, expired: int | None) -> Iterator[pd.DataFrame]:
        rows = list(self.state.get())
        timer = bucket_timer(rows)
        if timer is not None and timer == expired:
            timer = None
        kept, out = step_bucket(rows, events, timer_values.getCurrentWatermarkInMs(), self.rules, self.zones,
                                self.late_horizon_ms)
        wanted = bucket_timer(kept)
        if wanted != timer:
            if timer is not None:
                self.handle.deleteTimer(timer)
            if wanted is not None:
                self.handle.registerTimer(wanted)
        if kept:
            self.state.put(kept)
        else:
            self.state.clear()
        if out:
            yield rows_frame(out)

    def close(self) -> None:
        pass


def transform_with_state_rows(events: DataFrame, zones: dict[int, ZoneGeometry], rules: CirclingRules,
                              settings: SessionSettings) -> DataFrame:
    """The output rows (`SESSION_ROW_DDL`) under `transformWithStateInPandas`, as the stream had them: no
    watermark column in its input (Spark drops none)."""
    return (events.withWatermark("event_time", settings.spark_delay)
            .select(user_bucket(settings.state_buckets).alias(BUCKET), *RULE_COLUMNS)
            .groupBy(BUCKET)
            .transformWithStateInPandas(TransformWithStateProcessor(rules, zones, settings), SESSION_ROW_DDL,
                                        "Append", "EventTime"))


def run_stream(rows: DataFrame, checkpoint: Path, sink: str = "noop", name: str | None = None
               ) -> tuple[float, list[dict]]:
    """Run `rows` availableNow into `sink` from a fresh checkpoint: (wall seconds, each batch's progress)."""
    writer = rows.writeStream.format(sink).option("checkpointLocation", str(checkpoint))
    if name:
        writer = writer.queryName(name)
    query, seconds = timed(lambda: _to_end(writer.trigger(availableNow=True).start()))
    return seconds, [p.durationMs for p in query.recentProgress]


def _to_end(query):
    query.awaitTermination()
    return query


def _s(durations: dict, phase: str) -> str:
    return f"{durations.get(phase, 0) / 1000:.1f}"


def closed_sessions(spark, name: str) -> set[tuple]:
    return {tuple(r) for r in spark.table(name).where("row_kind = 'closed'").drop("state_ms").collect()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-bench-operators-"))
    try:
        city = tmp / "city"
        simulate(SimulationSettings(seed=1, days=args.days, device="chatty"), city)
        spark = get_spark(local_config(tmp / "spark"), LocalSparkSettings())
        config = replace(local_config(city), stream=StreamSettings(quality_checks=False))
        load_reference_tables(spark, config, city / "reference")
        prepare_tables(spark, config, list(Hub))
        prepare_session_tables(spark, config)
        run_all(spark, config, start_bronze)
        run_all(spark, config, start_silver)
        zones = zone_geometry(zones_reference(spark, config))
        events = silver_events_batch(spark, config).count()
        horizon = data_horizon_ms(silver_events_batch(spark, config), config.sessions.watermark_seconds)
        rules, settings = config.rules, config.sessions
        streams = {
            "applyInPandasWithState (production)":
                lambda: circling_rows(silver_session_events(spark, config), zones, rules, settings),
            "production, first batch buffered":
                lambda: circling_rows(silver_session_events(spark, config), zones, rules, settings, True),
            "transformWithStateInPandas (before)":
                lambda: transform_with_state_rows(silver_session_events(spark, config), zones, rules, settings),
        }
        print(f"sessionization operators: {events:,} session events ({args.days} day(s), 50 zones, 5,000 users, "
              "chatty phones), 2 cores, each into the no-op sink, warm rounds after the first", flush=True)
        for n in range(args.rounds):
            _, twin = timed(lambda: circling_sessions(silver_events_batch(spark, config), zones, rules, horizon,
                                                      settings.state_buckets).write.format("noop").mode("overwrite")
                            .save())
            print(f"round {n}: batch twin {twin:.2f} s ({events / twin:,.0f} events/s)", flush=True)
            for i, (label, make) in enumerate(streams.items()):
                seconds, batches = run_stream(make(), tmp / f"ck-{n}-{i}")  # a fresh checkpoint per stream and round
                phases = "; ".join(f"batch {i}: {_s(b, 'triggerExecution')} s (offsets {_s(b, 'latestOffset')}, "
                                   f"planning {_s(b, 'queryPlanning')}, work {_s(b, 'addBatch')})"
                                   for i, b in enumerate(batches))
                print(f"  {label}: {seconds:.2f} s ({events / seconds:,.0f} events/s, {twin / seconds:.2f}x the twin)"
                      f"  [{phases}]", flush=True)
        found = {}
        for i, (label, make) in enumerate(streams.items()):
            run_stream(make(), tmp / f"ck-memory-{i}", sink="memory", name=f"operator_{i}")
            found[label] = closed_sessions(spark, f"operator_{i}")
        production = next(iter(found.values()))
        for label, closed in list(found.items())[1:]:
            print(f"closed sessions, {label}: {len(closed):,}, "
                  f"{'the same rows as' if closed == production else 'NOT the same rows as'} the production "
                  f"stream's {len(production):,}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
