"""The silver micro-batch writer on hand-written batches: each new event once, repeats and events silver
already holds left out, every other record in quarantine with its raw body and reason."""

from __future__ import annotations

import json

from chispa import assert_df_equality

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.contracts.reference import zones_df
from parkpal_lakehouse.ingestion import prepare_tables
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.names import QUALITY_RESULTS, QUARANTINE, silver_table
from parkpal_lakehouse.silver.parse import parsed_events
from parkpal_lakehouse.silver.reference import load_reference_tables
from parkpal_lakehouse.silver.streaming import silver_batch_writer
from tests.silver.test_rules_agree_with_contract import _bronze_like
from tests.support.bad_inputs import ACTIVITY, ENQUEUED


def _event(**changes) -> str:
    return json.dumps({k: v for k, v in {**ACTIVITY, **changes}.items() if v is not None})


def _batch(spark, lines: list[str]):
    return parsed_events(_bronze_like(spark, lines, Hub.ACTIVITY, ENQUEUED), Hub.ACTIVITY, zones_df(spark))


def _silver(spark, config):
    return read_table(spark, config, silver_table(Hub.ACTIVITY)).selectExpr(
        "event_id", "user_id", "date_format(event_time, \"yyyy-MM-dd'T'HH:mm:ss\") AS at")


def test_a_batch_writes_each_new_event_once_and_quarantines_the_rest_with_its_body(spark, lakehouse):
    load_reference_tables(spark, lakehouse)
    prepare_tables(spark, lakehouse, [Hub.ACTIVITY])
    write = silver_batch_writer(lakehouse, Hub.ACTIVITY, "silver_activity_events")
    earlier = _event(eventId="act-2", timestamp="2026-11-02T07:00:00Z")
    write(_batch(spark, [earlier]), 0)

    no_id = _event(eventId=None, userId=100003, timestamp="2026-11-02T07:05:00Z")
    abroad = _event(eventId="act-5", latitude=40.0)  # valid by the contract, dropped by an expectation
    broken = _event(eventId="act-6", confidence=200)
    lines = [
        _event(eventId="act-1"), _event(eventId="act-1"), _event(eventId="act-1"),  # one event, sent 3 times
        earlier,  # silver holds it since batch 0
        no_id, no_id,  # no id: the natural key (user, session, type, time) decides
        _event(eventId="act-4", timestamp="2026-11-02T06:00:00Z"),
        _event(eventId="act-4", timestamp="2026-11-01T23:00:00Z"),  # same id, another event date: kept
        _event(eventId="act-7", userId=100007),  # seen once
        abroad, broken,
    ]
    batch = _batch(spark, lines)
    write(batch, 1)
    write(batch, 1)  # a replayed batch id writes nothing again

    expected = spark.createDataFrame([
        ("act-1", 100001, "2026-11-02T08:00:00"), ("act-2", 100001, "2026-11-02T07:00:00"),
        (None, 100003, "2026-11-02T07:05:00"), ("act-4", 100001, "2026-11-02T06:00:00"),
        ("act-4", 100001, "2026-11-01T23:00:00"), ("act-7", 100007, "2026-11-02T08:00:00"),
    ], "event_id STRING, user_id BIGINT, at STRING")
    assert_df_equality(_silver(spark, lakehouse), expected, ignore_row_order=True, ignore_nullable=True)
    quarantine = read_table(spark, lakehouse, QUARANTINE).select("body", "failed_rules", "hub", "source")
    expected = spark.createDataFrame([
        (abroad, ["quality:activity_latitude_in_philippines", "quality:activity_longitude_in_philippines"],
         "activity-events", "landing"),
        (broken, ["range:confidence"], "activity-events", "landing"),
    ], "body STRING, failed_rules ARRAY<STRING>, hub STRING, source STRING")
    assert_df_equality(quarantine, expected, ignore_row_order=True, ignore_nullable=True)
    results = read_table(spark, lakehouse, QUALITY_RESULTS).where("batch_id = 1")
    failed = {r.expectation for r in results.where("NOT success").collect()}
    assert failed == {"activity_latitude_in_philippines"}  # GX checks each column; the drop, the position
    # batch 0 had no broken record: it committed nothing to the quarantine, batch 1 once (issue 21)
    history = delta_table(spark, lakehouse, QUARANTINE).history()
    assert [(r.version, r.operation) for r in history.collect()] == [(1, "WRITE"), (0, "CREATE TABLE")]


def test_a_batch_without_repeats_or_new_dates_still_finds_what_silver_holds(spark, lakehouse):
    load_reference_tables(spark, lakehouse)
    prepare_tables(spark, lakehouse, [Hub.ACTIVITY])
    write = silver_batch_writer(lakehouse, Hub.ACTIVITY, "silver_activity_events")
    first = [_event(eventId=f"act-{i}", timestamp=f"2026-11-02T07:0{i}:00Z") for i in range(4)]
    write(_batch(spark, first[:3]), 0)
    write(_batch(spark, first[1:]), 1)  # two already held, one new; no key repeats within the batch
    write(_batch(spark, []), 2)  # an empty batch (a watermark-only trigger) writes no event
    write(_batch(spark, first[:2]), 3)  # only events silver holds
    got = sorted(r.event_id for r in _silver(spark, lakehouse).collect())
    assert got == ["act-0", "act-1", "act-2", "act-3"]
    assert read_table(spark, lakehouse, QUARANTINE).count() == 0
    # neither the empty batch nor the one of repeats committed to silver, and no batch to the quarantine (issue 21)
    versions = {t: [r.version for r in delta_table(spark, lakehouse, t).history().collect()]
                for t in (silver_table(Hub.ACTIVITY), QUARANTINE)}
    assert versions == {silver_table(Hub.ACTIVITY): [2, 1, 0], QUARANTINE: [0]}
