"""The ingestion balance: every bronze record is in silver, in quarantine, or a removed duplicate.

Counted independently of the streaming queries: bronze is re-parsed in batch with the same rules, and
its distinct valid keys are what silver must hold. A silent loss or a double write shows as a
non-zero `unexplained`.

The streaming step records each balance it checks in `ops.ingestion_balance` (stamped `checked_at`, with
`counted_from`: the Delta version of each table the count read, and the zones and rule settings it parsed
with), so analysts can see when ingestion last balanced; `last_balance` reads the newest back while none
of those tables has a commit after it and the zones and settings are the same (`stream start` with
nothing new and the demo's summary use it instead of counting everything again).

`stream start`'s closing balance counts on from the hub's last balance when that one read 0 (issue 21):
only the records bronze appended since (its change data feed) are parsed, their new keys looked up in
silver as it was then. Bronze grows with every run; the count of each run should not. Anything else
since (a delete or rewrite of bronze, other zones or rules, a feed not recorded) counts everything again,
as `parkpal stream balance` always does.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.sql import DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.frames import kept_with
from parkpal_lakehouse.io.delta import delta_table, read_appended, read_table, table_exists, table_version
from parkpal_lakehouse.io.writers import append_rows, side_by_side
from parkpal_lakehouse.names import INGESTION_BALANCE, QUARANTINE, bronze_table, silver_table
from parkpal_lakehouse.silver.parse import parsed_events, silver_key
from parkpal_lakehouse.silver.reference import zones_reference

BALANCE_DDL = ("hub STRING, bronze BIGINT, silver BIGINT, quarantine BIGINT, duplicates_removed BIGINT, "
               "unexplained BIGINT")
# Commits after which bronze holds what it held plus what they appended (OPTIMIZE only rewrites files).
_APPENDS_ONLY = {"WRITE", "STREAMING UPDATE", "OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"}


def ingestion_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> DataFrame:
    """One row per hub: bronze = silver + quarantine + duplicates_removed + unexplained, counting everything."""
    hubs = hubs or list(Hub)
    return spark.createDataFrame([row for row, _ in _balance(spark, config, hubs, {}, {})], BALANCE_DDL)


def _balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub], versions: dict[str, int | None],
             bases: dict[Hub, Row]) -> list[tuple[tuple, str]]:
    """Per hub, (its balance row, how it was counted), reading each table at `versions` (newest if absent);
    a hub in `bases` counts on from that balance where it can."""
    zones = zones_reference(spark, config)
    # Each hub's count is its own small job (re-parse bronze, count silver): side by side, one hub's
    # planning overlaps another's tasks (issue 21).
    quarantined, *counted = side_by_side(
        [lambda: {r.hub: r["count"] for r in read_table(spark, config, QUARANTINE, versions.get(QUARANTINE))
                  .groupBy("hub").count().collect()}]
        + [lambda hub=hub: _count(spark, config, hub, zones, versions, bases.get(hub)) for hub in hubs])
    rows = []
    for hub, (bronze, silver, duplicates, how) in zip(hubs, counted, strict=True):
        q = quarantined.get(hub.value, 0)
        rows.append(((hub.value, bronze, silver, q, duplicates, bronze - silver - q - duplicates), how))
    return rows


def _count(spark: SparkSession, config: LakehouseConfig, hub: Hub, zones: DataFrame,
           versions: dict[str, int | None], base: Row | None) -> tuple[int, int, int, str]:
    """(bronze records, silver rows, duplicates removed, how they were counted) of one hub."""
    how = "all"
    if base is not None:
        try:
            return _count_appended(spark, config, hub, zones, versions, base)
        except _CountAgain as again:
            how = f"all ({again})"
        except (CapturedException, Py4JJavaError) as error:  # Spark's or Delta's refusal (a feed not recorded,
            # its files vacuumed): the full count still answers
            text = " ".join(str(error).split())
            table = config.table_name(bronze_table(hub))
            how = (f"all (no change data feed recorded by {table} since its last balance: ALTER TABLE {table} "
                   "SET TBLPROPERTIES (delta.enableChangeDataFeed = true) lets the next ones count on)"
                   if "DELTA_MISSING_CHANGE_DATA" in text else f"all (counting on failed: {text.split('. ')[0][:300]})")
    bronze, silver, valid, distinct_valid = _recount(spark, config, hub, zones, versions)
    return bronze, silver, valid - distinct_valid, how


def _recount(spark: SparkSession, config: LakehouseConfig, hub: Hub, zones: DataFrame,
             versions: dict[str, int | None]) -> tuple[int, int, int, int]:
    """`hub`'s bronze re-parsed with silver's rules: (records, silver's rows, valid and distinct valid events)."""
    parsed = _parsed(spark, config, hub, zones, read_table(spark, config, bronze_table(hub),
                                                           versions.get(bronze_table(hub))))
    counts = parsed.agg(
        F.count("*").alias("bronze"),
        # silver keeps one event per (event date, contract key): `silver.parse.unseen_events`
        F.count_distinct(F.when(F.size("failed_rules") == 0, F.concat_ws("|", F.col("event_date").cast("string"),
                                                                         F.col("dedupe_key")))).alias("distinct_valid"),
        F.sum(F.when(F.size("failed_rules") == 0, 1).otherwise(0)).alias("valid"),
    ).first()
    silver = read_table(spark, config, silver_table(hub), versions.get(silver_table(hub))).count()
    return counts["bronze"], silver, int(counts["valid"] or 0), int(counts["distinct_valid"] or 0)


def _parsed(spark: SparkSession, config: LakehouseConfig, hub: Hub, zones: DataFrame, bronze: DataFrame) -> DataFrame:
    return parsed_events(bronze, hub, zones, config.stream.max_future_skew_minutes, config.rules.geofence_tolerance_m,
                         config.stream.max_event_age_days)


class _CountAgain(Exception):
    """Why a hub's balance cannot count on from its last one."""


def _count_appended(spark: SparkSession, config: LakehouseConfig, hub: Hub, zones: DataFrame,
                    versions: dict[str, int | None], base: Row) -> tuple[int, int, int, str]:
    """Count on from `base` (a balance that read 0): the records bronze appended since are parsed, and those
    of their valid events whose key silver did not hold then (at the version `base` counted) are new;
    the other valid ones are duplicates. Bronze must have had nothing but appends since, and its appended
    records must be exactly the difference of the two counts."""
    counted = json.loads(base.counted_from).get("tables", {})
    b0, s0 = counted.get(bronze_table(hub)), counted.get(silver_table(hub))
    b1, s1 = versions[bronze_table(hub)], versions[silver_table(hub)]
    if b0 is None or s0 is None or b1 is None or b1 < b0:
        raise _CountAgain("no bronze or silver version to count on from")
    bronze = read_table(spark, config, bronze_table(hub), b1).count()
    silver = read_table(spark, config, silver_table(hub), s1).count()
    how = f"appended since bronze version {b0}"
    if b1 == b0:
        if bronze != base.bronze:
            raise _CountAgain("bronze changed without a commit")
        return bronze, silver, base.duplicates_removed, f"{how}: none"
    # the newest commits back to b0 (history without a limit reads every commit file), with room for a few
    # made since the versions were read; fewer found than the range holds -> counted whole
    history = delta_table(spark, config, bronze_table(hub)).history(b1 - b0 + 16).where(
        F.col("version").between(b0 + 1, b1)).select("version", "operation", "operationParameters").collect()
    if sorted(r.version for r in history) != list(range(b0 + 1, b1 + 1)):
        raise _CountAgain("bronze's history since the last balance is incomplete")
    for r in history:
        mode = (r.operationParameters or {}).get("mode") or (r.operationParameters or {}).get("outputMode")
        if r.operation not in _APPENDS_ONLY or (r.operation in ("WRITE", "STREAMING UPDATE") and mode != "Append"):
            raise _CountAgain(f"bronze version {r.version} is a {r.operation}{f' ({mode})' if mode else ''}")
    appended = read_appended(spark, config, bronze_table(hub), b0, b1)
    inserted = appended.where(F.col("_change_type") == "insert").drop("_change_type", "_commit_version",
                                                                      "_commit_timestamp")
    valid = F.size("failed_rules") == 0
    keyed, counts = kept_with(_parsed(spark, config, hub, zones, inserted).select(
        valid.alias("valid"), "event_date", "dedupe_key"), records=F.count(F.lit(1)),
        valid=F.sum(F.col("valid").cast("long")), dates=F.collect_set(F.when(F.col("valid"), F.col("event_date"))))
    if counts["records"] != bronze - base.bronze:
        raise _CountAgain(f"{counts['records']:,} record(s) appended but bronze grew by {bronze - base.bronze:,}")
    new = 0
    if counts["dates"]:  # the valid events' keys silver did not hold then, on their event dates (its partitions)
        seen = read_table(spark, config, silver_table(hub), s0).where(F.col("event_date").isin(counts["dates"])) \
            .select("event_date", silver_key(hub).alias("dedupe_key"))
        new = keyed.where("valid").select("event_date", "dedupe_key").distinct() \
            .join(seen, ["event_date", "dedupe_key"], "left_anti").count()
    duplicates = base.duplicates_removed + int(counts["valid"] or 0) - new
    return bronze, silver, duplicates, f"{how}: {counts['records']:,} record(s)"


def _counted_tables(hub: Hub) -> tuple[str, ...]:
    return bronze_table(hub), silver_table(hub), QUARANTINE


def _zones_looked_up(spark: SparkSession, config: LakehouseConfig) -> str:
    """A digest of what the rules look up in the zones (id, centre, radius): a reload of the same reference
    data (every `setup` run) gives the same digest, a moved or resized zone another."""
    rows = (zones_reference(spark, config).select("zone_id", "latitude", "longitude", "radius_m")
            .orderBy("zone_id").collect())
    return hashlib.sha256(json.dumps([list(r) for r in rows]).encode()).hexdigest()


def _counted_from(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub]
                  ) -> tuple[dict[Hub, dict], dict[str, int | None]]:
    """(per hub: the newest Delta version of each table its count reads, the zones its rules look up and the
    rule settings of the re-parse, the same values later meaning the same count; those versions by table,
    each table asked once)."""
    tables = sorted({t for hub in hubs for t in _counted_tables(hub)})
    zones, *versions = side_by_side([lambda: _zones_looked_up(spark, config)]
                                    + [lambda t=t: table_version(spark, config, t) for t in tables])
    newest = dict(zip(tables, versions, strict=True))
    rules = {"max_future_skew_minutes": config.stream.max_future_skew_minutes,
             "geofence_tolerance_m": float(config.rules.geofence_tolerance_m),
             "max_event_age_days": config.stream.max_event_age_days}
    return {hub: {"tables": {t: newest[t] for t in _counted_tables(hub)}, "zones": zones, "rules": rules}
            for hub in hubs}, newest


def _inputs(recorded: Row) -> dict | None:
    """What a recorded balance was counted from; None for one recorded without it (an older version)."""
    try:
        return json.loads(recorded.counted_from) if recorded.counted_from else None
    except (AttributeError, ValueError):
        return None


def record_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None,
                   count_on: bool = False) -> list[Row]:
    """Check the balance and append it to `ops.ingestion_balance` (one row per hub, one `checked_at`), with
    what it was counted from (read first; each table is then read at that version) and how (`counted`).
    With `count_on`, a hub whose newest balance read 0 with the same zones and rule settings is counted on
    from it (`_count_appended`); otherwise all of bronze is parsed again."""
    hubs = hubs or list(Hub)
    counted_from, versions = _counted_from(spark, config, hubs)
    bases = {}
    for hub, row in (_newest_recorded(spark, config, hubs) if count_on else {}).items():
        was = _inputs(row)
        # "counted": recorded by this version, whose counts read each table at the version it records (an
        # older record's counts could include a commit made during them: not a figure to build on)
        if was and "counted" in was and row.unexplained == 0 \
                and all(was.get(k) == counted_from[hub][k] for k in ("zones", "rules")):
            bases[hub] = row
    checked_at = datetime.now(UTC)
    columns = [c.split()[0] for c in BALANCE_DDL.split(", ")]
    rows = [Row(**dict(zip(columns, values, strict=True)), checked_at=checked_at,
                counted_from=json.dumps({**counted_from[hub], "counted": how}, sort_keys=True))
            for hub, (values, how) in zip(hubs, _balance(spark, config, hubs, versions, bases), strict=True)]
    append_rows(spark.createDataFrame(rows, f"{BALANCE_DDL}, checked_at TIMESTAMP, counted_from STRING"), config,
                INGESTION_BALANCE)
    return rows


def how_counted(recorded: Row) -> str:
    """How a recorded balance was counted: "all", "all (<why not counted on>)" or "appended since ..."."""
    return (_inputs(recorded) or {}).get("counted", "all")


def _newest_recorded(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub]) -> dict[Hub, Row]:
    """Each hub's newest recorded balance (with `checked_at` and `counted_from`), for hubs that have one."""
    if not table_exists(spark, config, INGESTION_BALANCE):
        return {}
    balances = read_table(spark, config, INGESTION_BALANCE).where(F.col("hub").isin([h.value for h in hubs]))
    if "counted_from" not in balances.columns:
        return {}  # recorded by an older version, without what it was counted from
    newest = (balances.withColumn("newest", F.max("checked_at").over(Window.partitionBy("hub")))
              .filter(F.col("checked_at") == F.col("newest")).drop("newest").collect())
    rows_per_hub = Counter(r.hub for r in newest)
    return {Hub(r.hub): r for r in newest if rows_per_hub[r.hub] == 1}  # two newest rows of a hub: neither


def last_balance(spark: SparkSession, config: LakehouseConfig, hubs: list[Hub] | None = None) -> list[Row] | None:
    """The newest recorded balance of each of `hubs` (all by default), without `checked_at` and
    `counted_from`; None when a hub has none, when a table its count read (bronze, silver, quarantine) has a
    commit after it, or when the zones its rules look up or the rule settings differ: it holds only if
    nothing it counted changed."""
    hubs = hubs or list(Hub)
    by_hub = _newest_recorded(spark, config, hubs)
    if set(by_hub) != set(hubs):
        return None
    now, _ = _counted_from(spark, config, hubs)
    for hub, row in by_hub.items():
        was = _inputs(row)
        if was is None or any(was.get(k) != now[hub][k] for k in ("tables", "zones", "rules")):
            return None
    return [Row(**{k: v for k, v in by_hub[h].asDict().items() if k not in ("checked_at", "counted_from")})
            for h in sorted(hubs, key=lambda h: h.value)]
