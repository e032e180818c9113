"""What a micro-batch's exactly-once append costs in Delta (issue 21, nineteenth part).

Every `foreachBatch` write goes through `io.writers.append_once`: Delta's `txnAppId` / `txnVersion`, which
Delta checks against the table's recorded transactions before it writes. This script appends the same
small frame (`--rows`) to a Delta table `--writes` times each way in one warm session, alternating: a
plain append (the reference: the same table layout without the options), then `append_once`. It prints
per way the median and best seconds a write and the Spark jobs each write ran (status tracker). Delta
4.4 reads the recorded transactions from the table's state, which it reconstructs for every new table
version (a few Spark jobs); the figure says what that costs a small batch.

    .venv/bin/python benchmarks/idempotent_append.py [--writes 8] [--rows 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import timed  # noqa: E402

from parkpal_lakehouse.config import LakehouseConfig, local_config  # noqa: E402
from parkpal_lakehouse.io.delta import save  # noqa: E402
from parkpal_lakehouse.io.writers import append_once  # noqa: E402
from parkpal_lakehouse.names import QUARANTINE  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402


def rows(spark: SparkSession, n: int) -> DataFrame:
    return spark.range(n).select(F.col("id").alias("record_id"), F.lit("required:zoneId").alias("reason"),
                                 F.current_date().alias("quarantine_date"))


def plain_append(df: DataFrame, config: LakehouseConfig) -> None:
    """`append_once` without the transaction options: the same table, partitioning and schema merge."""
    writer = df.write.format("delta").mode("append").option("mergeSchema", "true").partitionBy("quarantine_date")
    save(writer, df.sparkSession, config, QUARANTINE)


def jobs_of(spark: SparkSession, label: str, write: Callable[[], None]) -> tuple[float, int]:
    """Seconds and Spark jobs of one write (its jobs tagged with a job group of their own)."""
    context = spark.sparkContext
    context.setJobGroup(label, label)
    try:
        _, seconds = timed(write)
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return seconds, len(context.statusTracker().getJobIdsForGroup(label))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=8, help="measured writes per way (default: %(default)s)")
    parser.add_argument("--rows", type=int, default=10, help="rows per write (default: %(default)s)")
    args = parser.parse_args()
    if args.writes < 1:
        parser.error("--writes must be at least 1")
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        plain_config = local_config(Path(tmp) / "plain")
        once_config = local_config(Path(tmp) / "once")
        spark = get_spark(local_config(Path(tmp) / "spark"), LocalSparkSettings(shuffle_partitions=2))
        ways: dict[str, Callable[[int], None]] = {
            "plain append (reference)": lambda i: plain_append(rows(spark, args.rows), plain_config),
            "append_once (txnAppId, txnVersion)": lambda i: append_once(
                rows(spark, args.rows), once_config, QUARANTINE, "bench", i, partition_by=("quarantine_date",)),
        }
        for write in ways.values():  # warm-up: the tables exist, the code is compiled
            for i in range(3):
                write(i)
        measured: dict[str, list[tuple[float, int]]] = {name: [] for name in ways}
        for i in range(3, 3 + args.writes):
            for name, write in ways.items():
                measured[name].append(jobs_of(spark, f"{name}-{i}", lambda w=write, i=i: w(i)))
        print(f"Delta appends of {args.rows} row(s), warm, {args.writes} each, alternating; 2 cores")
        print(f"  {'way':<36} {'median s':>9} {'best s':>7} {'Spark jobs':>11} {'x reference':>12}")
        reference = None
        for name, values in measured.items():
            seconds = [s for s, _ in values]
            median = statistics.median(seconds)
            reference = median if reference is None else reference
            jobs = statistics.median(j for _, j in values)
            print(f"  {name:<36} {median:>9.2f} {min(seconds):>7.2f} {jobs:>11.0f} {median / reference:>11.1f}x")
        spark.stop()


if __name__ == "__main__":
    main()
