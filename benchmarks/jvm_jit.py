"""The driver JVM's JIT on short runs (issue 21): HotSpot's defaults against ParkPal's `JIT_OPTIONS`.

Each option set gets a fresh process (a JVM's options are fixed at its start), which runs the test
suite's small city (`small_run.one_city`: landing -> bronze -> silver -> sessions, the zone status and
the hourly gold job, on a fresh root) `--cities` times, the first one in a cold JVM as every CLI command,
job and test run starts. Per city it prints the wall time, the JVM's CPU time (all its threads, the JIT
compiler's included) and the time HotSpot spent compiling (its CompilationMXBean). The reference is
HotSpot's defaults, measured in the same run.

    .venv/bin/python benchmarks/jvm_jit.py [--cities 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import jvm_seconds  # noqa: E402
from small_run import one_city  # noqa: E402

from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.runtime.session import JIT_OPTIONS, LocalSparkSettings, get_spark  # noqa: E402

OPTION_SETS = {"HotSpot defaults (reference)": (), "ParkPal JIT_OPTIONS": JIT_OPTIONS}


def child(options: tuple[str, ...], cities: int) -> None:
    """One option set in this process: a JSON line per city on stdout."""
    tmp = Path(tempfile.mkdtemp(prefix="parkpal-jit-"))
    try:
        spark = get_spark(local_config(tmp / "spark"), LocalSparkSettings(shuffle_partitions=2, jit_options=options))
        for i in range(cities):
            (cpu0, jit0), started = jvm_seconds(spark), time.perf_counter()
            one_city(spark, tmp / f"city{i}")
            wall, (cpu1, jit1) = time.perf_counter() - started, jvm_seconds(spark)
            print(json.dumps({"wall": wall, "cpu": cpu1 - cpu0, "jit": jit1 - jit0}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cities", type=int, default=3, help="small cities per option set, the first cold")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cities < 1:
        parser.error("--cities must be at least 1")
    if args.child is not None:
        child(tuple(json.loads(args.child)), args.cities)
        return
    results = {}
    for label, options in OPTION_SETS.items():
        run = subprocess.run([sys.executable, __file__, "--cities", str(args.cities), "--child", json.dumps(options)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"jvm_jit: the run with {label} failed:\n{run.stderr[-3000:]}")
        results[label] = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    print(f"the small city (8 zones, 400 users, 1 day) x {args.cities}, one fresh process per option set, the first "
          "city in a cold JVM; 2 cores; seconds")
    reference = results["HotSpot defaults (reference)"]
    for label, runs in results.items():
        print(f"  {label}: {' '.join(OPTION_SETS[label]) or '(none)'}")
        for i, run in enumerate(runs):
            print(f"    city {i + 1}{' (cold)' if i == 0 else '       '}  wall {run['wall']:6.1f}  JVM CPU "
                  f"{run['cpu']:6.1f}  HotSpot compiling {run['jit']:5.1f}")
        total, ref_total = sum(r["wall"] for r in runs), sum(r["wall"] for r in reference)
        print(f"    all cities wall {total:6.1f}  ({total / ref_total:.2f}x the reference)")


if __name__ == "__main__":
    main()
