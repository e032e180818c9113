"""The ingestion balance: every bronze record is in silver, in quarantine, or a removed duplicate.

Counted independently of the streaming queries: bronze is re-parsed in batch with the same rules, and
its distinct valid keys are what silver must hold. A silent loss or a double write shows as a
non-zero `unexplained`.

The streaming step records each balance it checks in `ops.ingestion_balance` (stamped `checked_at`, with
`counted_from`: the Delta version of each table the count read, and the zones and rule settings it parsed
with), so analysts can see when ingestion last balanced; `last_balance` reads the newest back while none
of those tables has a commit after it and the zones and settings are the same (`stream start` with
nothing new and the demo's summary use it instead of counting everything again).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from pyspark.sql import DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.io.delta import read_table, table_exists, table_version
from parkpal_lakehouse.io.writers import append_rows, side_by_side
from parkpal_lakehouse.names import INGESTION_BALANCE, QUARANTINE, bronze_table, silver_table
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


def _counted_tables(hub: Hub) -> tuple[str, ...]:
    return bronze_table(hub), silver_table(hub), QUARANTINE


def _zones_looked_up(spark: SparkSession, config: LakehouseConfig) -> str:
    """A digest of what the rules look up in the zones (id, centre, radius): a reload of the same reference
    data (every `setup` run) gives the same digest, a moved or resized zone another."""
    rows = (zones_reference(spark, config).select("zone_id", "latitude", "longitude", "radius_m")
            .orderBy("zone_id").collect())
    return hashlib.sha256(json.dumps([list(r) for r in rows]).encode()).hexdigest()


def _counted_from(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub]) -> dict[Hub, str]:
    """Per hub (JSON): the newest Delta version of each table its count reads (each table asked once), the
    zones its rules look up and the rule settings of the re-parse; the same value later means the same count."""
    tables = sorted({t for hub in hubs for t in _counted_tables(hub)})
    zones, *versions = side_by_side([lambda: _zones_looked_up(spark, config)]
                                    + [lambda t=t: table_version(spark, config, t) for t in tables])
    newest = dict(zip(tables, versions, strict=True))
    rules = {"max_future_skew_minutes": config.stream.max_future_skew_minutes,
             "geofence_tolerance_m": float(config.rules.geofence_tolerance_m),
             "max_event_age_days": config.stream.max_event_age_days}
    return {hub: json.dumps({"tables": {t: newest[t] for t in _counted_tables(hub)}, "zones": zones,
                             "rules": rules}, sort_keys=True) for hub in hubs}


def record_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> list[Row]:
    """Check the balance and append it to `ops.ingestion_balance` (one row per hub, one `checked_at`), with
    what it was counted from, read before counting: a commit during the count makes the record look older
    than it is, never newer."""
    hubs = hubs or list(Hub)
    counted_from = _counted_from(spark, config, hubs)
    checked_at = datetime.now(UTC)
    rows = [Row(**r.asDict(), checked_at=checked_at, counted_from=counted_from[Hub(r.hub)])
            for r in ingestion_balance(spark, config, hubs).collect()]
    append_rows(spark.createDataFrame(rows, f"{BALANCE_DDL}, checked_at TIMESTAMP, counted_from STRING"), config,
                INGESTION_BALANCE)
    return rows


def last_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> list[Row] | None:
    """The newest recorded balance of each of `hubs` (all by default), without `checked_at` and
    `counted_from`; None when a hub has none, when a table its count read (bronze, silver, quarantine) has a
    commit after it, or when the zones its rules look up or the rule settings differ: it holds only if
    nothing it counted changed."""
    hubs = hubs or list(Hub)
    if not table_exists(spark, config, INGESTION_BALANCE):
        return None
    balances = read_table(spark, config, INGESTION_BALANCE).where(F.col("hub").isin([h.value for h in hubs]))
    if "counted_from" not in balances.columns:
        return None  # recorded by an older version, without what it was counted from
    newest = (balances.withColumn("newest", F.max("checked_at").over(Window.partitionBy("hub")))
              .filter(F.col("checked_at") == F.col("newest")).drop("newest").orderBy("hub").collect())
    by_hub = {r.hub: r for r in newest}
    if set(by_hub) != {h.value for h in hubs} or len(newest) != len(hubs):
        return None
    now = _counted_from(spark, config, hubs)
    if any(by_hub[hub.value].counted_from != now[hub] for hub in hubs):
        return None
    return [Row(**{k: v for k, v in r.asDict().items() if k not in ("checked_at", "counted_from")}) for r in newest]
