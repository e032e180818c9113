"""Spark start time with a cold jar cache (fetch from Maven Central) and a warm one (no network),
each in a fresh process, beside the start of a plain pyspark session without Delta as the reference.

    .venv/bin/python benchmarks/spark_startup.py
"""

from __future__ import annotations

import os
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
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PARKPAL_JAR_CACHE": cache}
        cold = run(PROBE, env)
        warm = run(PROBE, {**env, "PARKPAL_OFFLINE": "1"})
    plain = run(PLAIN, dict(os.environ))
    print("Spark session start + first Delta write (fresh process each)")
    print(f"  cold jar cache (mvn fetch, ~/.m2 as it is)  {cold:6.1f} s")
    print(f"  warm jar cache (offline)                    {warm:6.1f} s")
    print(f"  reference: plain pyspark + parquet write    {plain:6.1f} s")


if __name__ == "__main__":
    main()
