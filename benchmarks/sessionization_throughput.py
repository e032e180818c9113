"""Sessionization benchmark on this machine, beside the ingestion-only rate from the same run.

1. Throughput: a simulated city (default 20 days, 50 zones, 5,000 users, noise on: ten times the demo's two
   days on a larger city than its default, so per-event costs outweigh fixed ones, as issue 21 asks) through landing ->
   bronze -> silver (availableNow, GX checks off: the ingestion-only reference), then the streaming
   sessionization query over the filled silver tables (sessionization alone), and the batch twin.
   End to end = all messages / (bronze + silver + sessions time), beside the warm `read JSON (wire schema) ->
   write Delta` reference on the same landing files, measured in the same run just before the pipeline
   (issue 21's target: end to end >= 0.25x it). Everything measured is warm: one small city (1 day, 10
   zones, 500 users, the same phones) goes through the reference and every measured path first, untimed.
2. State: users held in state and their bytes, read back from the checkpoint with the state data
   source (each bucket's key and value as Spark encodes them, UnsafeRows, shared among its users), the
   RocksDB memory the state store reports, and the peak number of users held during the latency run;
   extrapolated to a city of 1M users by scaling the users held per simulated user (5,000 here).
3. Latency: session events fed into a Delta table at a steady rate (one commit per second, in arrival
   order, the city's clock sped up to reach the rate) while the sessions query runs with a 1-second
   trigger; latency = the session's commit time - the moment the event that closed it was fed.

    .venv/bin/python benchmarks/sessionization_throughput.py [--days 20] [--rate 20000] [--device chatty]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import peak_rss_mib, timed  # noqa: E402
from ingestion_throughput import jvm_peak_mib, raw_references, run_all  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from parkpal_lakehouse.config import StreamSettings, local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub  # noqa: E402
from parkpal_lakehouse.ingestion import prepare_tables, start_bronze, start_silver  # noqa: E402
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.names import PARKING_SESSIONS
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.sessions.backfill import data_horizon_ms, silver_events_batch  # noqa: E402
from parkpal_lakehouse.sessions.batch import circling_sessions  # noqa: E402
from parkpal_lakehouse.sessions.inputs import zone_geometry  # noqa: E402
from parkpal_lakehouse.sessions.state import BUCKET_STATE_SCHEMA  # noqa: E402
from parkpal_lakehouse.sessions.store import prepare_session_tables
from parkpal_lakehouse.sessions.streaming import (  # noqa: E402
    circling_rows,
    session_batch_writer,
    silver_session_events,
    start_sessions,
    state_name,
)
from parkpal_lakehouse.silver.reference import load_reference_tables, zones_reference
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def unsafe_row_bytes(row) -> int:
    """Bytes of a row as Spark's UnsafeRow holds it: a null bitset, 8 bytes per field, variable-length
    values padded to 8 bytes (strings; arrays: count, null bits, a slot per element, nested rows)."""
    values = list(row)
    return 8 * ((len(values) + 63) // 64) + 8 * len(values) + sum(_variable_bytes(v) for v in values)


def _variable_bytes(value) -> int:
    if isinstance(value, str):
        return (len(value.encode()) + 7) // 8 * 8
    if isinstance(value, list):
        return 8 + 8 * ((len(value) + 63) // 64) + 8 * len(value) + sum(
            unsafe_row_bytes(v) if isinstance(v, tuple) else _variable_bytes(v) for v in value)
    return 0


def state_sizes(spark, checkpoint: str, name: str) -> dict[str, float]:
    """Users in state (their `BUCKET_STATE_SCHEMA` rows), their mean encoded size (their share of their
    bucket's key and value: the users' rows as one JSON string, beside its timeout), by phase; buffered
    events. The state reads one row per bucket."""
    buckets = _bucket_users(spark.read.format("statestore").load(checkpoint), name)
    users = [user for _, _, rows in buckets for user in rows]
    # The value: a row of (the state's row of one string, the timeout): a null bitset and two slots, then the
    # nested row.
    total = sum(unsafe_row_bytes(key) + 16 + unsafe_row_bytes((text,)) + 8 for key, text, _ in buckets)
    pending = sum(len(json.loads(user[_PENDING])) for user in users if user[_PENDING])
    phases: dict[str, int] = {}
    for user in users:
        phase = user[_PHASE] or "idle"
        phases[phase] = phases.get(phase, 0) + 1
    return {"tracker_rows": len(users), "tracker_bytes": total / max(1, len(users)), "pending_rows": pending,
            "buckets": len(buckets), "phases": phases}


_FIELDS = [part.split()[0] for part in BUCKET_STATE_SCHEMA.split(", ")]
_PHASE, _PENDING = _FIELDS.index("phase"), _FIELDS.index("pending")


def _bucket_users(state, name: str) -> list[tuple]:
    """Each bucket's (key, state string, users' rows) from a state data source frame."""
    rows = state.select("key", F.col(f"value.groupState.{name}").alias("users")).collect()
    return [(r.key, r.users, json.loads(r.users)) for r in rows]


def state_memory(query) -> int:
    """The RocksDB memory the state store reported in the query's last progress with state (bytes)."""
    for progress in reversed(query.recentProgress):
        ops = progress.stateOperators
        if ops and ops[0].numRowsTotal:
            return ops[0].memoryUsedBytes
    return 0


def peak_users_held(spark, checkpoint: str, name: str, every: int = 5) -> int:
    """The most users held in state at any of every `every`-th committed batch (and the last one), read
    back with the state data source at each of those batches."""
    reader = spark.read.format("statestore")
    committed = sorted(int(p.name) for p in (Path(checkpoint) / "commits").iterdir() if p.name.isdigit())
    batches = sorted({*committed[::every], *committed[-1:]})
    return max((sum(len(users) for _, _, users in _bucket_users(reader.option("batchId", b).load(checkpoint), name))
                for b in batches), default=0)


def throughput(spark, root: Path, messages: int) -> dict[str, float]:
    config = replace(local_config(root), stream=StreamSettings(quality_checks=False))
    load_reference_tables(spark, config, root / "reference")
    prepare_tables(spark, config, list(Hub))
    prepare_session_tables(spark, config)
    bronze_s = run_all(spark, config, start_bronze)
    silver_s = run_all(spark, config, start_silver)
    events = silver_events_batch(spark, config).count()
    query, sessions_s = timed(lambda: _run_to_end(start_sessions(spark, config)))
    memory = state_memory(query)
    sizes = state_sizes(spark, config.checkpoint_path("silver_parking_sessions"), state_name(config.sessions))
    zones = zone_geometry(zones_reference(spark, config))
    horizon = data_horizon_ms(silver_events_batch(spark, config), config.sessions.watermark_seconds)
    _, batch_s = timed(lambda: circling_sessions(silver_events_batch(spark, config), zones, config.rules, horizon,
                                                         config.sessions.state_buckets)
                       .write.format("noop").mode("overwrite").save())
    # Like for like with the batch twin: the same streaming processor into Spark's no-op sink (no
    # session-table writes), availableNow over the same silver tables.
    rows = circling_rows(silver_session_events(spark, config), zones, config.rules, config.sessions)
    noop = (rows.writeStream.format("noop").option("checkpointLocation", str(root / "noop-checkpoint"))
            .trigger(availableNow=True).start())
    _, noop_s = timed(lambda: _run_to_end(noop))
    return {"ingest": messages / (bronze_s + silver_s), "sessions": events / sessions_s, "batch": events / batch_s,
            "stream_noop": events / noop_s,
            "end_to_end": messages / (bronze_s + silver_s + sessions_s), "events": events,
            "sessions_written": read_table(spark, config, PARKING_SESSIONS).count(),
            "state_memory": memory, "config_root": root, **sizes}


def warm_up(spark, tmp: Path, device: str) -> None:
    """The reference and every measured path once on a small city (1 day, 10 zones, 500 users), untimed: the
    measured city then pays no first-use costs (class loading, the JIT, the Python workers), the reference
    and the pipeline alike (issue 21: a cold reference flattered every ratio ~4x)."""
    city = tmp / "warm-city"
    report = simulate(SimulationSettings(seed=2, days=1, zones=10, users=500, device=device), city)
    raw_references(spark, city / "landing", tmp / "warm-raw", kinds=("json",))
    throughput(spark, city, report.messages)


def _run_to_end(query):
    query.awaitTermination()
    return query


def latency(spark, source_root: Path, tmp: Path, rate: float) -> dict[str, float]:
    source = local_config(source_root)
    config = replace(local_config(tmp / "latency"), stream=StreamSettings(trigger="processingTime=1 second"))
    # Silver as the source city has it (the sessions' writer rewrites `gold.zone_status` from it every
    # micro-batch, as in production), without the session tables this run writes.
    shutil.copytree(source_root / "tables/silver", tmp / "latency/tables/silver",
                    ignore=shutil.ignore_patterns("parking_sessions*", "late_events"))
    prepare_session_tables(spark, config)
    events = silver_events_batch(spark, source)
    # Arrival order: event time plus a few seconds of network delay; `rate` events per one-second commit.
    ordered = events.withColumn("arrival_ms", F.col("t_ms") + F.abs(F.hash("event_key")) % 5000) \
        .orderBy("arrival_ms").toPandas()
    ordered["event_time"] = ordered["event_time"].dt.tz_localize("UTC")  # Parquet instants, not local times
    chunks = [ordered.iloc[i:i + int(rate)].drop(columns="arrival_ms") for i in range(0, len(ordered), int(rate))]
    # One Parquet file per second of feed, written up front; feeding is an atomic rename, so the feed
    # itself costs no CPU beside the query under test.
    staging, feed = tmp / "staging", tmp / "feed"
    staging.mkdir()
    feed.mkdir()
    for i, chunk in enumerate(chunks):
        chunk.to_parquet(staging / f"part-{i:05d}.parquet", index=False, coerce_timestamps="us",
                         allow_truncated_timestamps=True)
    stream = spark.readStream.schema(events.schema).parquet(str(feed))
    rows = circling_rows(stream, zone_geometry(zones_reference(spark, source)), config.rules, config.sessions)
    checkpoint = str(tmp / "latency-checkpoint")
    query = (rows.writeStream.foreachBatch(session_batch_writer(config, "bench_sessions", checkpoint))
             .option("checkpointLocation", checkpoint).trigger(processingTime="1 second").start())
    fed: list[tuple[int, float]] = []
    started = time.time()
    for i, chunk in enumerate(chunks):
        time.sleep(max(0.0, started + i - time.time()))
        (staging / f"part-{i:05d}.parquet").rename(feed / f"part-{i:05d}.parquet")
        fed.append((int(chunk.t_ms.max()), time.time()))
    fed_s = time.time() - started + 1.0
    time.sleep(60)  # let the last batches and watermark moves commit
    failed = query.exception()
    query.stop()
    if failed is not None:
        raise RuntimeError(f"the latency run's query failed: {failed}")
    held = peak_users_held(spark, str(tmp / "latency-checkpoint"), state_name(config.sessions))
    fed_at = spark.createDataFrame(fed, "fed_through_ms BIGINT, fed_at DOUBLE")
    sessions = read_table(spark, config, PARKING_SESSIONS).select(
        F.unix_millis("closed_at").alias("closed_ms"), F.unix_micros("written_at").alias("written_us"))
    # The first commit that carried an event at or after the session's closing time made it decidable.
    lat = sessions.join(fed_at, F.col("fed_through_ms") >= F.col("closed_ms")).groupBy("closed_ms", "written_us") \
        .agg(F.min("fed_at").alias("fed_at")).select((F.col("written_us") / 1e6 - F.col("fed_at")).alias("s"))
    p50, p95 = lat.approxQuantile("s", [0.5, 0.95], 0.001)
    return {"events": len(ordered), "fed_rate": len(ordered) / fed_s, "p50": p50, "p95": p95,
            "sessions": lat.count(), "peak_state_rows": held}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--device", choices=("platform", "chatty"), default="platform",
                        help="the simulated phones (default: %(default)s)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-bench-sessions-"))
    try:
        city = tmp / "city"
        report = simulate(SimulationSettings(seed=1, days=args.days, device=args.device), city)
        spark = get_spark(local_config(tmp / "spark"), LocalSparkSettings())
        warm_up(spark, tmp, args.device)
        reference = raw_references(spark, city / "landing", tmp / "raw", kinds=("json",))["json"]
        rates = throughput(spark, city, report.messages)
        lat = latency(spark, city, tmp, args.rate)
        jvm_peak, py_peak = jvm_peak_mib(spark), peak_rss_mib()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"sessionization benchmark: {report.messages:,} messages, {rates['events']:,} session events "
          f"({args.days} day(s), 50 zones, 5,000 users, {args.device} phones, noise on), 2 cores, warm")
    print(f"  reference: read JSON (wire schema) -> Delta, warm     {reference:>9,.0f} events/s")
    print(f"  reference: ingestion only (landing -> silver, no GX)  {rates['ingest']:>9,.0f} events/s "
          f"({rates['ingest'] / reference:.2f}x the JSON reference)")
    print(f"  sessionization alone (streaming, silver -> sessions)  {rates['sessions']:>9,.0f} events/s "
          f"({rates['sessions_written']:,} sessions)")
    print(f"  sessionization, batch twin (no-op sink)               {rates['batch']:>9,.0f} events/s")
    print(f"  sessionization streaming, no-op sink (like for like)  {rates['stream_noop']:>9,.0f} events/s "
          f"({rates['stream_noop'] / rates['batch']:.2f}x the batch twin)")
    print(f"  end to end (landing -> sessions, no GX)               {rates['end_to_end']:>9,.0f} events/s "
          f"({rates['end_to_end'] / reference:.2f}x the JSON reference; target 0.25x)")
    phases = ", ".join(f"{k} {v:,}" for k, v in sorted(rates["phases"].items()))
    print(f"  state at the end: {rates['tracker_rows']:,} users held ({phases}), "
          f"{rates['tracker_bytes']:,.0f} bytes per user as stored (key + JSON in the value), "
          f"{rates['pending_rows']:,} buffered events, {rates['buckets']:,} buckets; state store memory "
          f"{rates['state_memory'] / max(1, rates['tracker_rows']):,.0f} bytes per user held")
    peak_share = lat["peak_state_rows"] / 5_000
    print(f"  users held at peak (latency run): {lat['peak_state_rows']:,} of 5,000 users -> a 1M-user city "
          f"~{peak_share * 1e6:,.0f} rows x {rates['tracker_bytes']:,.0f} B = "
          f"{peak_share * 1e6 * rates['tracker_bytes'] / 2**20:,.0f} MiB of values")
    print(f"  latency run: {lat['events']:,} events fed at {lat['fed_rate']:,.0f}/s (target {args.rate:,.0f}/s); "
          f"{lat['sessions']:,} sessions closed")
    print(f"  closing event fed -> session committed                p50 {lat['p50']:.1f} s, p95 {lat['p95']:.1f} s")
    print(f"  peak memory: Spark driver JVM {jvm_peak:,.0f} MiB, Python driver {py_peak:,.0f} MiB")


if __name__ == "__main__":
    main()
