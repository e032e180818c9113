"""Generated or interpreted projections (issue 21): Spark's default against `INTERPRETED_PROJECTIONS`.

Spark makes some of a task's projections (Delta's log actions to rows, a write's statistics, a project
outside a whole stage) by generating their Java source in every task, then finding the compiled class in
its cache; `spark.sql.codegen.factoryMode=NO_CODEGEN` interprets them instead. Cheaper per task, dearer
per record, so this prints both sides, each mode in fresh processes (the option is the session's), the
modes alternating `--rounds` times:

- the test suite's small city (`small_run.one_city`: landing -> sessions, the zone status, the hourly
  gold job) `--cities` times, the first in a cold JVM: wall and the JVM's CPU per city;
- per record: `read JSON -> write Delta` (silver's reference: a parse, no rules) over a larger city of
  `--days` days simulated once (50 zones, 5,000 users), best of two passes after the small cities.

Spark's default mode (generated, with an interpreted fallback) is the reference, measured in the same run.

    .venv/bin/python benchmarks/projections.py [--cities 3] [--rounds 2] [--days 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import jvm_seconds  # noqa: E402
from ingestion_throughput import raw_references  # noqa: E402
from small_run import one_city  # noqa: E402

from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.runtime.session import INTERPRETED_PROJECTIONS, LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402

REFERENCE = "generated (Spark's default; reference)"
MODES: dict[str, Mapping[str, str]] = {REFERENCE: {}, "interpreted (INTERPRETED_PROJECTIONS)": INTERPRETED_PROJECTIONS}


def child(mode: str, cities: int, landing: Path, messages: int) -> None:
    """One mode in this process: a JSON line per small city, then one for the larger city's reference."""
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-projections-"))
    try:
        spark = get_spark(local_config(tmp / "spark"),
                          LocalSparkSettings(shuffle_partitions=2, extra_conf=MODES[mode]))
        for i in range(cities):
            cpu0, _ = jvm_seconds(spark)
            started = time.perf_counter()
            one_city(spark, tmp / f"city{i}")
            wall, (cpu1, _) = time.perf_counter() - started, jvm_seconds(spark)
            print(json.dumps({"wall": wall, "cpu": cpu1 - cpu0}), flush=True)
        rates = [raw_references(spark, landing, tmp / f"json{i}", kinds=("json",))["json"] for i in range(2)]
        print(json.dumps({"json_rate": max(rates), "messages": messages}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", type=int, default=3, help="small cities per process, the first cold")
    parser.add_argument("--rounds", type=int, default=2, help="processes per mode, the modes alternating")
    parser.add_argument("--days", type=int, default=2, help="days of the larger city (per-record figure)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in ("cities", "rounds", "days"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.child is not None:
        child(args.child, args.cities, args.landing, args.messages)
        return
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-projections-city-"))
    try:
        report = simulate(SimulationSettings(seed=1, days=args.days), tmp / "city")
        runs: dict[str, list[list[dict]]] = {mode: [] for mode in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                run = subprocess.run([sys.executable, __file__, "--cities", str(args.cities), "--child", mode,
                                      "--landing", str(tmp / "city" / "landing"), "--messages",
                                      str(report.messages)], capture_output=True, text=True)
                if run.returncode != 0:
                    sys.exit(f"projections: the run with {mode} failed:\n{run.stderr[-3000:]}")
                runs[mode].append([json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"projections: the small city (8 zones, 400 users, 1 day) x {args.cities} per fresh process, the first "
          f"cold, {args.rounds} process(es) per mode alternating; per record: read JSON -> write Delta over "
          f"{report.messages:,} messages ({args.days} day(s), 50 zones, 5,000 users); 2 cores")
    summary = {}
    for mode, processes in runs.items():
        print(f"  {mode}")
        for p, lines in enumerate(processes, 1):
            cities = [line for line in lines if "wall" in line]
            walls = "  ".join(f"{c['wall']:5.1f}" for c in cities)
            cpus = "  ".join(f"{c['cpu']:5.1f}" for c in cities)
            print(f"    process {p}: city wall s {walls}   JVM CPU s {cpus}   JSON -> Delta "
                  f"{lines[-1]['json_rate']:,.0f} events/s")
        warm = [c["wall"] for lines in processes for c in lines[1:] if "wall" in c]
        cold = [lines[0]["wall"] for lines in processes]
        rate = max(lines[-1]["json_rate"] for lines in processes)
        summary[mode] = (statistics.median(cold), statistics.median(warm) if warm else float("nan"), rate)
    ref = summary[REFERENCE]
    print("  median cold city, median warm city (s), best JSON -> Delta (events/s); ratio to the reference:")
    for mode, (cold, warm, rate) in summary.items():
        print(f"    {mode:<40} cold {cold:6.1f} ({cold / ref[0]:.2f}x)  warm {warm:6.1f} ({warm / ref[1]:.2f}x)  "
              f"JSON -> Delta {rate:9,.0f} ({rate / ref[2]:.2f}x)")


if __name__ == "__main__":
    main()
