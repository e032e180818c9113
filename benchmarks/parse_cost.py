"""Silver's parse per record, step by step, beside a plain `from_json` over the same bodies (issue 21).

A simulated city's landing lines become bronze-like frames (one per hub, held in memory with
`localCheckpoint`, enqueued at the city's window end as the landing source would stamp them). Each way
is written to Spark's `noop` sink, so the figure is the expressions' cost alone (no Delta, no dedupe, no
great-expectations): the reference `from_json(wire schema)` with its fields; then the parse built up as
`silver.parse.parsed_events` applies it: its two parses of the body (`read`), each field's JSON type
(`kinds`), presence and type (`checks`), strictness (`malformed`), the event time (`event time`), and the
whole of it (rules, the zone lookup, the key: `full`). The first round warms the JVM and is not counted;
the figures are the best and the median of the other rounds, in microseconds per record on this machine.

    .venv/bin/python benchmarks/parse_cost.py [--days 6] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import peak_rss_mib, timed  # noqa: E402

from parkpal_lakehouse.bronze import bronze_records  # noqa: E402
from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.contracts.events import Hub, wire_schema  # noqa: E402
from parkpal_lakehouse.contracts.reference import zones_df  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, build_local_session  # noqa: E402
from parkpal_lakehouse.silver.parse import parse_columns, parsed_events  # noqa: E402
from parkpal_lakehouse.simulator.run import simulate  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def bronze_frame(spark, landing: Path, hub: Hub, enqueued: datetime):  # type: ignore[no-untyped-def]
    """The hub's landing lines as bronze records, in memory."""
    lines = spark.read.option("recursiveFileLookup", "true").text(str(landing / hub.value))
    nulls = {"source_file": "string", "kafka_topic": "string", "kafka_partition": "int", "kafka_offset": "bigint"}
    raw = lines.select(F.col("value").alias("body"), F.lit("landing").alias("source"),
                       *[F.lit(None).cast(kind).alias(name) for name, kind in nulls.items()],
                       F.lit(enqueued).alias("enqueued_at"), F.lit(enqueued).alias("received_at"))
    return bronze_records(raw, hub).localCheckpoint()


def ways(bronze, hub: Hub, zones) -> dict:  # type: ignore[no-untyped-def]
    """Each way to measure, as a function giving its frame."""
    c = parse_columns(hub)

    def read():  # type: ignore[no-untyped-def]
        return bronze.select(*c.read)

    def kinds():  # type: ignore[no-untyped-def]
        return read().withColumn("_kinds", c.kinds)

    def checks():  # type: ignore[no-untyped-def]
        return kinds().withColumn("_checks", c.checks)

    def malformed():  # type: ignore[no-untyped-def]
        return checks().withColumn("_malformed", c.malformed)

    return {
        "reference: from_json": lambda: bronze.select(F.from_json("body", wire_schema(hub)).alias("e")).select("e.*"),
        "read (two parses)": read,
        "+ kinds": kinds,
        "+ checks": checks,
        "+ malformed": malformed,
        "+ event time": lambda: malformed().withColumn("event_time", c.event_time),
        "full (parsed_events)": lambda: parsed_events(bronze, hub, zones),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=6, help="days of the simulated city (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per way, the first not counted")
    args = parser.parse_args()
    if args.days < 1:
        parser.error("--days must be at least 1")
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the first only warms up)")
    with tempfile.TemporaryDirectory() as tmp:
        city = Path(tmp) / "city"
        report, simulate_s = timed(lambda: simulate(SimulationSettings(seed=1, days=args.days), city))
        manifest = json.loads((city / "truth" / "manifest.json").read_text())
        enqueued = datetime.fromtimestamp(manifest["window_end"], UTC)
        spark = build_local_session(local_config(Path(tmp) / "spark"), LocalSparkSettings(master="local[2]",
                                                                                          shuffle_partitions=2))
        zones = zones_df(spark, city / "reference" / "zones.csv").localCheckpoint()
        print(f"silver's parse: {report.messages:,} messages ({args.days} day(s); simulated in {simulate_s:.0f} s), "
              f"2 cores, noop sink; best / median of {args.rounds - 1} warm round(s), us per record")
        print(f"  {'hub':<16} {'way':<22} {'records':>9} {'best us':>8} {'median us':>10} {'x reference':>12}")
        for hub in Hub:
            bronze = bronze_frame(spark, city / "landing", hub, enqueued)
            records = bronze.count()
            reference = None
            for name, frame in ways(bronze, hub, zones).items():
                seconds = [timed(lambda f=frame: f().write.format("noop").mode("overwrite").save())[1]
                           for _ in range(args.rounds)][1:]
                best, median = (1e6 * s / records for s in (min(seconds), statistics.median(seconds)))
                reference = best if reference is None else reference
                print(f"  {hub.value:<16} {name:<22} {records:>9,} {best:>8.1f} {median:>10.1f} "
                      f"{reference / best:>11.2f}x")
        print(f"  peak memory of this process {peak_rss_mib():.0f} MiB")
        spark.stop()


if __name__ == "__main__":
    main()
