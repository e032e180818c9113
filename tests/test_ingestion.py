"""Landing -> bronze -> silver on a simulated city, checked row by row against what was sent."""

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from chispa import assert_df_equality
from conftest import copy_city
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from parkpal_lakehouse.balance import ingestion_balance, last_balance, record_balance
from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.ingestion import QUARANTINE, run_ingestion, silver_table
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.writers import append_rows
from parkpal_lakehouse.names import (
    INGESTION_BALANCE,
    LATE_EVENTS,
    OPEN_SESSIONS,
    PARKING_SESSIONS,
    PIPELINE_PROGRESS,
    ZONES,
    bronze_table,
)

pytestmark = pytest.mark.slow


def _sent_ids(small_city, hub: Hub) -> Counter:
    """The valid, unique events the simulator sent, by the contract's identity."""
    return Counter(e.get("eventId") or f"{e['userId']}|{e['sessionId']}|{e['_ts']:.3f}"
                   for e in small_city.landed.valid[hub])


def test_silver_holds_exactly_the_events_that_were_sent(spark, small_city, ingested_city):
    config, _ = ingested_city
    for hub in Hub:
        silver = read_table(spark, config, silver_table(hub))
        rows = silver.selectExpr("event_id", "user_id" if hub is not Hub.GATE else "NULL AS user_id",
                                 "session_id" if hub is not Hub.GATE else "NULL AS session_id",
                                 "unix_micros(event_time) / 1e6 AS ts").collect()
        got = Counter(r.event_id or f"{r.user_id}|{r.session_id}|{r.ts:.3f}" for r in rows)
        assert got == _sent_ids(small_city, hub), hub


def test_bronze_keeps_every_message_received_verbatim(spark, small_city, ingested_city):
    config, _ = ingested_city
    for hub in Hub:
        bronze = read_table(spark, config, bronze_table(hub))
        assert bronze.count() == small_city.manifest["wire"][hub.value]["received"]
        lines = Counter(ln for p in (small_city.root / "landing" / hub.value).rglob("*.jsonl")
                        for ln in p.read_text().splitlines())
        assert Counter(r.body for r in bronze.select("body").collect()) == lines
        assert bronze.filter("enqueued_at IS NULL OR source_file IS NULL").count() == 0


def test_quarantine_holds_each_bad_record_with_the_rule_it_broke(spark, small_city, ingested_city):
    config, _ = ingested_city
    quarantine = read_table(spark, config, QUARANTINE).collect()
    rules = Counter(f"{r.hub}/{rule}" for r in quarantine for rule in r.failed_rules if rule != "malformed:json")
    assert rules == Counter(small_city.manifest["wire"]["invalid_rules"])
    malformed = Counter(r.hub for r in quarantine if r.failed_rules == ["malformed:json"])
    assert malformed == Counter({h.value: small_city.manifest["wire"][h.value]["malformed"] for h in Hub})
    assert all(r.body and r.quarantined_at and r.source_file for r in quarantine)


def test_balance_explains_every_bronze_record(spark, small_city, ingested_city):
    config, _ = ingested_city
    for row in ingestion_balance(spark, config).collect():
        wire = small_city.manifest["wire"][row.hub]
        assert row.unexplained == 0
        assert row.duplicates_removed == wire["duplicates"]
        assert (row.bronze, row.silver, row.quarantine) == (
            wire["received"], wire["events"], wire["malformed"] + wire["invalid"])


def test_running_again_on_the_same_checkpoints_writes_nothing(spark, ingested_city):
    config, _ = ingested_city
    tables = [bronze_table(h) for h in Hub] + [silver_table(h) for h in Hub] + [QUARANTINE, PARKING_SESSIONS,
                                                                                 OPEN_SESSIONS, LATE_EVENTS]
    before = {t: DeltaTable.forPath(spark, config.table_path(t)).history(1).first().version for t in tables}
    run_ingestion(spark, config, list(Hub), progress=lambda _m: None, sessions=True)
    after = {t: DeltaTable.forPath(spark, config.table_path(t)).history(1).first().version for t in tables}
    assert after == before


def test_progress_is_recorded_and_nothing_fell_behind_the_watermark(spark, ingested_city):
    config, report = ingested_city
    progress = read_table(spark, config, "ops.pipeline_progress").collect()
    names = {r.query_name for r in progress}
    assert names == {f"{layer}_{h.value.replace('-', '_')}" for layer in ("bronze", "silver") for h in Hub} | {
        "silver_parking_sessions"}
    assert sum(r.dropped_by_watermark for r in progress) == 0
    # the sessions query's two batches: its events, then the one Spark runs without new rows once the watermark
    # has moved (sessions closed, the zone status rewritten), kept too
    sessions = sorted((r.batch_id, r.num_input_rows > 0) for r in progress if r.query_name == "silver_parking_sessions")
    assert sessions == [(0, True), (1, False)], sessions
    assert report.rows_in["silver_activity_events"] == report.rows_in["bronze_activity_events"] > 0
    # the run's rows, its three stages', in one append when it ended (not one per stage or progress check)
    commits = DeltaTable.forPath(spark, config.table_path(PIPELINE_PROGRESS)).history().collect()
    assert [c.operation for c in commits] == ["WRITE", "CREATE TABLE"] and len(progress) == report.batches


def test_quality_results_are_persisted_per_batch_and_table(spark, ingested_city):
    config, _ = ingested_city
    results = read_table(spark, config, "ops.quality_results").collect()
    assert {r.table_name for r in results} == {silver_table(h) for h in Hub}
    failed_fail_policy = [r for r in results if r.policy == "fail" and not r.success]
    assert failed_fail_policy == []
    assert all(r.batch_id is not None and r.element_count is not None for r in results if r.policy != "warn")


def test_partitioning_supports_the_reads_that_follow(spark, ingested_city):
    config, _ = ingested_city
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{config.table_path(bronze_table(Hub.ACTIVITY))}`").first()
    assert detail.partitionColumns == ["ingest_date"]
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{config.table_path(silver_table(Hub.ACTIVITY))}`").first()
    assert detail.partitionColumns == ["event_date"]


def test_silver_keeps_statistics_on_the_columns_its_readers_filter(spark, ingested_city):
    """Delta's per-file min / max / null counts on silver cover the event time, the commit time, the zone
    and the user (what gold, the zone status and the backfill filter on), not ids, plates or URLs; every
    file still counts its records (issue 21)."""
    from parkpal_lakehouse.silver.parse import SILVER_STATS_COLUMNS

    config, _ = ingested_city
    for hub in Hub:
        path = Path(config.table_path(silver_table(hub)))
        columns = set(read_table(spark, config, silver_table(hub)).columns)
        expected = {c for c in SILVER_STATS_COLUMNS if c in columns}
        assert {"event_time", "processed_at"} <= expected and {"zone_id", "user_id"} & columns <= expected
        detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
        assert set(detail.properties["delta.dataSkippingStatsColumns"].split(",")) == expected
        actions = [json.loads(line) for log in sorted((path / "_delta_log").glob("*.json"))
                   for line in log.read_text().splitlines()]
        added = [a["add"] for a in actions if "add" in a]
        assert added, hub
        for add in added:
            stats = json.loads(add["stats"])
            assert stats["numRecords"] > 0
            assert set(stats["minValues"]) == set(stats["maxValues"]) == expected, (hub, stats)


def test_a_new_root_gets_the_tables_the_streams_wrote_and_the_parse_gives(spark, small_city, ingested_city, tmp_path):
    """`prepare_tables` builds the hubs' schemas once per process (issue 21): a second root still gets
    the columns and types the ingested city's streams wrote, and those of a parse built now."""
    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.ingestion import prepare_tables
    from parkpal_lakehouse.silver.parse import parsed_events, quarantined_records, silver_events
    from parkpal_lakehouse.silver.reference import load_reference_tables, zones_reference

    def columns(df):
        return [(f.name, f.dataType.simpleString()) for f in df.schema.fields]

    config, _ = ingested_city
    fresh = local_config(tmp_path / "fresh")
    load_reference_tables(spark, fresh, small_city.root / "reference")
    prepare_tables(spark, fresh, list(Hub))
    for hub in Hub:
        bronze = read_table(spark, config, bronze_table(hub))
        parsed = parsed_events(bronze.drop("ingest_date"), hub, zones_reference(spark, fresh))
        for table, built in ((bronze_table(hub), bronze), (silver_table(hub), silver_events(parsed)),
                             (QUARANTINE, quarantined_records(parsed))):
            made = columns(read_table(spark, fresh, table))
            assert made == columns(read_table(spark, config, table)) == columns(built), table
        assert read_table(spark, fresh, silver_table(hub)).isEmpty()


def test_a_new_optional_field_does_not_break_the_stream_and_bronze_keeps_it(spark, tmp_path: Path):
    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.silver.reference import load_reference_tables

    config = local_config(tmp_path)
    load_reference_tables(spark, config)
    folder = tmp_path / "landing" / "activity-events" / "2026" / "11" / "02" / "00"
    folder.mkdir(parents=True)
    old = '{"userId":100001,"sessionId":7,"activityType":"STILL","confidence":90,"latitude":14.55,' \
          '"longitude":121.02,"timestamp":"2026-11-02T00:01:00Z","eventId":"a-1"}'
    new = old.replace('"eventId":"a-1"', '"eventId":"a-2","appVersion":"6.0.0","batteryLevel":0.42')
    (folder / "00-00000.jsonl").write_text(old + "\n")
    run_ingestion(spark, config, [Hub.ACTIVITY], progress=lambda _m: None)
    (folder / "15-00000.jsonl").write_text(new + "\n")
    run_ingestion(spark, config, [Hub.ACTIVITY], progress=lambda _m: None)
    bodies = [r.body for r in read_table(spark, config, bronze_table(Hub.ACTIVITY)).collect()]
    assert new in bodies
    assert sorted(r.event_id for r in read_table(spark, config, silver_table(Hub.ACTIVITY)).collect()) == ["a-1", "a-2"]


def test_the_recorded_balance_is_read_back_until_a_table_it_counted_has_a_commit_after_it(spark, small_city,
                                                                                        ingested_city, tmp_path):
    config = copy_city(small_city.root, tmp_path / "city")
    assert last_balance(spark, config) is None  # none recorded yet
    recorded = record_balance(spark, config)
    assert {r.hub for r in recorded} == {h.value for h in Hub}
    assert all(r.checked_at and json.loads(r.counted_from)["tables"] for r in recorded)
    expected = spark.createDataFrame(recorded).drop("checked_at", "counted_from").orderBy("hub")
    assert_df_equality(spark.createDataFrame(last_balance(spark, config)), expected, ignore_nullable=True)
    # a micro-batch's progress row changes none of the tables counted: the balance still holds
    later = read_table(spark, config, PIPELINE_PROGRESS).limit(1).withColumn("recorded_at", F.current_timestamp())
    append_rows(later, config, PIPELINE_PROGRESS)
    assert_df_equality(spark.createDataFrame(last_balance(spark, config)), expected, ignore_nullable=True)
    # a commit to the gate hub's silver (one event written twice): its balance no longer holds, the others' do
    twice = read_table(spark, config, silver_table(Hub.GATE)).limit(1).localCheckpoint()
    append_rows(twice, config, silver_table(Hub.GATE))
    assert last_balance(spark, config) is None and last_balance(spark, config, [Hub.GATE]) is None
    assert [r.hub for r in last_balance(spark, config, [Hub.ACTIVITY])] == ["activity-events"]
    # counted again, the gate hub shows the double write, and every hub's newest balance holds again
    assert [r.unexplained for r in record_balance(spark, config, [Hub.GATE])] == [-1]
    assert {r.hub: r.unexplained for r in last_balance(spark, config)} == {h.value: -(h is Hub.GATE) for h in Hub}
    # the same reference data loaded again (every `setup` run) changes nothing the rules look up ...
    from parkpal_lakehouse.io.delta import overwrite_table
    from parkpal_lakehouse.silver.reference import load_reference_tables

    load_reference_tables(spark, config, small_city.root / "reference")
    assert {r.hub: r.unexplained for r in last_balance(spark, config)} == {h.value: -(h is Hub.GATE) for h in Hub}
    # ... but another geofence tolerance, or a zone moved, could count the same bronze differently
    assert last_balance(spark, replace(config, rules=replace(config.rules, geofence_tolerance_m=151.0))) is None
    zones = read_table(spark, config, ZONES).localCheckpoint()
    first = zones.agg(F.min("zone_id")).first()[0]
    overwrite_table(zones.withColumn("radius_m", F.col("radius_m") + F.when(F.col("zone_id") == first, 1).otherwise(0)),
                    config, ZONES)
    assert last_balance(spark, config) is None
    # a balance recorded by an older version (without `counted_from`) is never taken as still holding
    old = local_config(tmp_path / "old")
    append_rows(spark.createDataFrame(recorded).drop("counted_from"), old, INGESTION_BALANCE)
    assert last_balance(spark, old) is None


def test_a_query_that_fails_to_start_stops_the_queries_started_before_it(spark, lakehouse):
    """In a notebook or a job's driver, a bronze query left running after silver failed to start would
    keep writing with nobody waiting on it: the run stops what it started, then raises."""
    import threading

    from parkpal_lakehouse.errors import ParkPalError
    from parkpal_lakehouse.ingestion import _run_phases
    from parkpal_lakehouse.io.progress import ProgressRecorder

    started = []

    def running():
        query = (spark.readStream.format("rate").option("rowsPerSecond", 5).load()
                 .writeStream.format("noop").queryName("bronze_probe").start())
        started.append(query)
        return query

    def failing():
        raise ParkPalError("silver_probe: the checkpoint belongs to another query")

    recorder = ProgressRecorder(spark, lakehouse, log=lambda _m: None)
    with pytest.raises(ParkPalError, match="another query"):
        _run_phases([[running, failing]], threading.Event(), recorder, poll_seconds=0.5)
    assert len(started) == 1 and not started[0].isActive
    assert "bronze_probe" not in {q.name for q in spark.streams.active}
