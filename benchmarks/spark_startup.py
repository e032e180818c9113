"""Spark start time with a cold jar cache (fetch from Maven Central) and a warm one (no network), the
warm one with and without the JVM class archive `parkpal setup` makes (alternating, best of --rounds),
each in a fresh process, beside the start of a plain pyspark session without Delta as the reference.

    .venv/bin/python benchmarks/spark_startup.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROBE = """
import time, sys
t = time.perf_counter()
from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.runtime.session import get_spark
spark = get_spark(local_config(sys.argv[1]))
spark.range(1).write.format("delta").save(sys.argv[1] + "/probe")
print(time.perf_counter() - t)
"""
PLAIN = """
import time, sys
t = time.perf_counter()
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false").getOrCreate()
spark.range(1).write.parquet(sys.argv[1] + "/probe")
print(time.perf_counter() - t)
"""


def run(script: str, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", script, root], env=env, capture_output=True, text=True, check=True)
        inner = float(out.stdout.strip().splitlines()[-1])
        return min(inner, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PARKPAL_JAR_CACHE": cache}
        cold = run(PROBE, env)
    from parkpal_lakehouse.runtime.class_archive import CLASS_ARCHIVE_ENV, archive_path, build_archive
    from parkpal_lakehouse.runtime.jars import SPARK_JARS, ensure_jars

    ensure_jars(SPARK_JARS)
    made = None
    if not archive_path().is_file():
        started = time.perf_counter()
        build_archive()
        made = time.perf_counter() - started
    env = {**os.environ, "PARKPAL_OFFLINE": "1"}
    without, with_archive = [], []
    for _ in range(rounds):
        without.append(run(PROBE, {**env, CLASS_ARCHIVE_ENV: "0"}))
        with_archive.append(run(PROBE, {**env, CLASS_ARCHIVE_ENV: "1"}))
    plain = run(PLAIN, dict(os.environ))
    print("Spark session start + first Delta write (fresh process each)")
    print(f"  cold jar cache (mvn fetch, ~/.m2 as it is)        {cold:6.1f} s")
    print(f"  warm jar cache (offline), no class archive        {min(without):6.1f} s best, "
          f"{statistics.median(without):.1f} s median of {rounds}")
    print(f"  warm jar cache (offline), from the class archive  {min(with_archive):6.1f} s best, "
          f"{statistics.median(with_archive):.1f} s median of {rounds} "
          f"({min(with_archive) / min(without):.2f}x)")
    print(f"  the class archive: {archive_path().stat().st_size / 2**20:.0f} MB, "
          + (f"made in {made:.1f} s by this run" if made is not None else "made before (parkpal setup)"))
    print(f"  reference: plain pyspark + parquet write          {plain:6.1f} s")


if __name__ == "__main__":
    main()
