"""The ingestion balance: every bronze record is in silver, in quarantine, or a removed duplicate.

Counted independently of the streaming queries: bronze is re-parsed in batch with the same rules, and
its distinct valid keys are what silver must hold. A silent loss or a double write shows as a
non-zero `unexplained`.

The streaming step records each balance it checks in `ops.ingestion_balance` (stamped `checked_at`), so
analysts can see when ingestion last balanced; `last_balance` reads the newest back while no micro-batch
has been recorded since (the demo's summary uses it instead of counting everything again).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pyspark.sql import DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.io.writers import append_rows, side_by_side
from parkpal_lakehouse.names import INGESTION_BALANCE, PIPELINE_PROGRESS, QUARANTINE, bronze_table, silver_table
from parkpal_lakehouse.silver.parse import parsed_events
from parkpal_lakehouse.silver.reference import zones_reference

BALANCE_DDL = ("hub STRING, bronze BIGINT, silver BIGINT, quarantine BIGINT, duplicates_removed BIGINT, "
               "unexplained BIGINT")


def ingestion_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> DataFrame:
    """One row per hub: bronze = silver + quarantine + duplicates_removed + unexplained."""
    zones = zones_reference(spark, config)
    hubs = hubs or list(Hub)
    # Each hub's recount is its own small job (re-parse bronze, count silver): side by side, one hub's
    # planning overlaps another's tasks (issue 21).
    quarantined, *counted = side_by_side(
        [lambda: {r.hub: r["count"] for r in read_table(spark, config, QUARANTINE).groupBy("hub").count().collect()}]
        + [lambda hub=hub: _recount(spark, config, hub, zones) for hub in hubs])
    rows = []
    for hub, (counts, silver) in zip(hubs, counted, strict=True):
        q = quarantined.get(hub.value, 0)
        duplicates = int(counts["valid"] or 0) - int(counts["distinct_valid"] or 0)
        rows.append((hub.value, counts["bronze"], silver, q, duplicates, counts["bronze"] - silver - q - duplicates))
    return spark.createDataFrame(rows, BALANCE_DDL)


def _recount(spark: SparkSession, config: LakehouseConfig, hub: Hub, zones: DataFrame) -> tuple[Row, int]:
    """`hub`'s bronze re-parsed with silver's rules: (its counts of records, valid and distinct valid events;
    silver's row count)."""
    parsed = parsed_events(read_table(spark, config, bronze_table(hub)), hub, zones,
                           config.stream.max_future_skew_minutes, config.rules.geofence_tolerance_m,
                           config.stream.max_event_age_days)
    counts = parsed.agg(
        F.count("*").alias("bronze"),
        # silver keeps one event per (event date, contract key): `silver.parse.unseen_events`
        F.count_distinct(F.when(F.size("failed_rules") == 0, F.concat_ws("|", F.col("event_date").cast("string"),
                                                                         F.col("dedupe_key")))).alias("distinct_valid"),
        F.sum(F.when(F.size("failed_rules") == 0, 1).otherwise(0)).alias("valid"),
    ).first()
    return counts, read_table(spark, config, silver_table(hub)).count()


def record_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> list[Row]:
    """Check the balance and append it to `ops.ingestion_balance` (one row per hub, one `checked_at`)."""
    balance = ingestion_balance(spark, config, hubs).withColumn("checked_at", F.lit(datetime.now(UTC)))
    rows = balance.collect()
    append_rows(spark.createDataFrame(rows, balance.schema), config, INGESTION_BALANCE)
    return rows


def last_balance(spark: SparkSession, config: LakehouseConfig) -> list[Row] | None:
    """The newest recorded balance of every hub, or None when there is none or a micro-batch was recorded
    in `ops.pipeline_progress` after it (the tables may have changed since)."""
    if not table_exists(spark, config, INGESTION_BALANCE):
        return None
    balances = read_table(spark, config, INGESTION_BALANCE)
    newest = (balances.withColumn("newest", F.max("checked_at").over(Window.partitionBy()))
              .filter(F.col("checked_at") == F.col("newest")).drop("newest").orderBy("hub").collect())
    if not newest:
        return None
    checked = newest[0].checked_at
    if table_exists(spark, config, PIPELINE_PROGRESS):
        newest_batch = read_table(spark, config, PIPELINE_PROGRESS).agg(F.max("recorded_at")).first()[0]
        if newest_batch is not None and newest_batch > checked:
            return None
    rows = [Row(**{k: v for k, v in r.asDict().items() if k != "checked_at"}) for r in newest]
    return rows if {r.hub for r in rows} == {h.value for h in Hub} else None
