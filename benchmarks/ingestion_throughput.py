"""Ingestion benchmark on this machine: landing -> bronze -> silver, beside Spark's raw ceiling.

1. Throughput: a simulated city (default 2 days, 50 zones, 5,000 users, noise on) through the bronze
   queries, then the silver queries (all three hubs, availableNow), with and without the
   great-expectations checks; reference: `spark.read.json(...).write.format("delta")` on the same files.
2. Latency: continuous queries (processingTime trigger) while the simulator feeds landing files at a
   steady rate; p50/p95 from a file landing (`received_at`) to its event's silver commit (`processed_at`).

    .venv/bin/python benchmarks/ingestion_throughput.py [--days 2] [--rate 20000] [--latency-days 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import timed  # noqa: E402

from parkpal_lakehouse.config import SourceConfig, StreamSettings, local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub, wire_schema  # noqa: E402
from parkpal_lakehouse.ingestion import (  # noqa: E402
    prepare_tables,
    run_ingestion,
    silver_table,
    start_bronze,
    start_silver,
)
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.silver.reference import load_reference_tables
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def jvm_peak_mib(spark) -> float:
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_all(spark, config, starter) -> float:
    queries, started = [starter(spark, config, hub) for hub in Hub], time.perf_counter()
    for q in queries:
        q.awaitTermination()
    return time.perf_counter() - started


def throughput(spark, root: Path, quality: bool, messages: int) -> tuple[float, float]:
    config = replace(local_config(root), stream=StreamSettings(quality_checks=quality))
    load_reference_tables(spark, config, root / "reference")
    prepare_tables(spark, config, list(Hub))
    bronze_s = run_all(spark, config, start_bronze)
    silver_s = run_all(spark, config, lambda s, c, h: start_silver(s, c, h))
    return messages / bronze_s, messages / silver_s


def raw_ceiling(spark, root: Path, out: Path) -> float:
    def write() -> int:
        rows = 0
        for hub in Hub:
            df = spark.read.schema(wire_schema(hub)).option("recursiveFileLookup", "true").json(
                str(root / "landing" / hub.value))
            df.write.format("delta").mode("overwrite").save(str(out / hub.value))
            rows += spark.read.format("delta").load(str(out / hub.value)).count()
        return rows

    rows, seconds = timed(write)
    return rows / seconds


def latency(spark, tmp: Path, rate: float, days: int) -> dict[str, float]:
    root = tmp / "latency"
    settings = SimulationSettings(seed=7, days=days)
    config = replace(local_config(root), source=SourceConfig(kind="landing"),
                     stream=StreamSettings(trigger="processingTime=2 seconds"))
    # Reference data first (the simulator writes it with the city), then stream while landing.
    from parkpal_lakehouse.simulator.run import generate
    from parkpal_lakehouse.simulator.sinks import LandingSink, paced

    city = generate(settings, root)
    load_reference_tables(spark, config, root / "reference")
    stop = threading.Event()
    worker = threading.Thread(target=run_ingestion, args=(spark, config, list(Hub)),
                              kwargs={"stop": stop, "progress": lambda _m: None, "poll_seconds": 2}, daemon=True)
    worker.start()
    time.sleep(15)  # queries up before the feed starts
    sink = LandingSink(root / "landing", settings.landing_file_minutes)
    fed_start = time.perf_counter()
    for batch in paced(city.messages, rate):
        sink.write(batch)
    fed_seconds = time.perf_counter() - fed_start
    expected = {h: city.stats.events[h] for h in Hub}
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if all(read_table(spark, config, silver_table(h)).count() >= expected[h] for h in Hub):
            break
        time.sleep(3)
    drained = time.perf_counter() - fed_start
    stop.set()
    worker.join(timeout=300)
    lat = None
    for hub in Hub:
        df = read_table(spark, config, silver_table(hub)).selectExpr(
            "unix_micros(processed_at) / 1e6 - unix_micros(received_at) / 1e6 AS s")
        lat = df if lat is None else lat.unionByName(df)
    p50, p95 = lat.approxQuantile("s", [0.5, 0.95], 0.001)
    return {"fed_rate": len(city.messages) / fed_seconds, "messages": len(city.messages), "p50": p50, "p95": p95,
            "drained_s": drained, "fed_s": fed_seconds}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--latency-days", type=int, default=2)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-bench-"))
    try:
        city = tmp / "city"
        report = simulate(SimulationSettings(seed=1, days=args.days), city)
        spark = get_spark(local_config(tmp / "spark"), LocalSparkSettings())
        ceiling = raw_ceiling(spark, city, tmp / "raw")
        quiet = tmp / "city-noquality"
        shutil.copytree(city / "landing", quiet / "landing")
        shutil.copytree(city / "reference", quiet / "reference")
        bronze_rate, silver_rate = throughput(spark, city, True, report.messages)
        _, silver_rate_no_gx = throughput(spark, quiet, False, report.messages)
        lat = latency(spark, tmp, args.rate, args.latency_days)
        peak = jvm_peak_mib(spark)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ingestion benchmark: {report.messages:,} messages ({args.days} day(s), 50 zones, 5,000 users, noise on), "
          "2 cores")
    print(f"  reference: raw read JSON -> write Delta   {ceiling:>10,.0f} events/s")
    print(f"  landing -> bronze (3 queries)            {bronze_rate:>10,.0f} events/s")
    print(f"  bronze -> silver, with GX checks         {silver_rate:>10,.0f} events/s "
          f"({silver_rate / ceiling:.0%} of raw)")
    print(f"  bronze -> silver, without GX checks      {silver_rate_no_gx:>10,.0f} events/s "
          f"({silver_rate_no_gx / ceiling:.0%} of raw)")
    print(f"  latency run: {lat['messages']:,} messages fed at {lat['fed_rate']:,.0f}/s (target {args.rate:,.0f}/s) "
          f"over {lat['fed_s']:.0f}s; silver caught up {lat['drained_s']:.0f}s after the feed started")
    print(f"  event landed -> silver commit            p50 {lat['p50']:.1f} s, p95 {lat['p95']:.1f} s")
    print(f"  Spark driver peak memory (VmHWM)         {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
