"""great-expectations suites with warn / drop / fail policies, on real Spark DataFrames."""

from datetime import datetime

import great_expectations.expectations as gxe
import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.quality.expectations import SILVER_SUITES, Expectation, Policy
from parkpal_lakehouse.quality.runner import check_quality

ACTIVITY_DDL = ("record_id STRING, user_id BIGINT, activity_type STRING, confidence INT, latitude DOUBLE, "
                "longitude DOUBLE, event_time TIMESTAMP, enqueued_at TIMESTAMP, received_at TIMESTAMP, "
                "ingested_at TIMESTAMP")
T = datetime(2026, 11, 2, 1, 0)


def _activity(spark, rows):
    return spark.createDataFrame([(f"r{i}", *r, T, T, T, T) for i, r in enumerate(rows)], ACTIVITY_DDL)


def test_clean_batch_passes_every_expectation(spark):
    df = _activity(spark, [(100001, "STILL", 90, 14.55, 121.02), (100002, "IN_VEHICLE", 80, 14.6, 121.0)])
    outcome = check_quality(df, "silver.activity_events", SILVER_SUITES["silver.activity_events"], batch_id=3)
    assert outcome.failed == [] and outcome.warnings == []
    assert outcome.kept.count() == 2 and outcome.dropped.count() == 0
    assert {r["expectation"] for r in outcome.results} == {e.name for e in SILVER_SUITES["silver.activity_events"]}
    assert all(r["batch_id"] == 3 and r["table_name"] == "silver.activity_events" for r in outcome.results)


def test_a_row_count_the_caller_has_is_used_instead_of_a_count_job(spark):
    from tests.support.spark_jobs import spark_counters

    df = _activity(spark, [(100001, "STILL", 90, 14.55, 121.02), (100002, "STILL", 90, 0.0, 0.0)]).localCheckpoint()
    suite = SILVER_SUITES["silver.activity_events"]
    jobs = []
    for rows in (2, None, 2, None):
        before = spark_counters()[0]
        outcome = check_quality(df, "silver.activity_events", suite, batch_id=4, rows=rows)
        jobs.append(spark_counters()[0] - before)
        assert [r.record_id for r in outcome.kept.collect()] == ["r0"]
        assert [(r["expectation"], r["success"], r["element_count"]) for r in outcome.results if not r["success"]] == [
            ("activity_latitude_in_philippines", False, 2), ("activity_longitude_in_philippines", False, 2)]
    assert jobs[2] == jobs[0] and jobs[3] == jobs[1] > jobs[0], jobs  # the count's jobs (2 with adaptive execution)


def test_null_island_positions_are_dropped_with_their_reason(spark):
    df = _activity(spark, [(100001, "STILL", 90, 14.55, 121.02), (100002, "STILL", 90, 0.0, 0.0)])
    outcome = check_quality(df, "silver.activity_events", SILVER_SUITES["silver.activity_events"])
    assert [r.record_id for r in outcome.kept.collect()] == ["r0"]
    dropped = outcome.dropped.collect()
    assert [r.record_id for r in dropped] == ["r1"]
    assert sorted(dropped[0].quality_rules) == ["quality:activity_latitude_in_philippines",
                                                "quality:activity_longitude_in_philippines"]
    lat = next(r for r in outcome.results if r["expectation"] == "activity_latitude_in_philippines")
    assert lat["success"] is False and lat["unexpected_count"] == 1 and lat["policy"] == "drop"
    assert outcome.failed == []


def test_warn_records_the_observed_value_and_keeps_rows(spark):
    df = _activity(spark, [(100001, "STILL", 20, 14.55, 121.02), (100002, "STILL", 30, 14.55, 121.02)])
    outcome = check_quality(df, "silver.activity_events", SILVER_SUITES["silver.activity_events"])
    assert outcome.warnings == ["activity_mean_confidence_plausible"]
    mean = next(r for r in outcome.results if r["expectation"] == "activity_mean_confidence_plausible")
    assert mean["observed_value"] == "25.0" and outcome.kept.count() == 2


def test_an_empty_batch_is_not_validated(spark):
    outcome = check_quality(_activity(spark, []), "silver.activity_events", SILVER_SUITES["silver.activity_events"])
    assert outcome.results == [] and outcome.failed == [] and outcome.dropped.count() == 0


def test_fail_policy_is_reported(spark):
    df = _activity(spark, [(None, "STILL", 90, 14.55, 121.02)])
    outcome = check_quality(df, "silver.activity_events", SILVER_SUITES["silver.activity_events"])
    assert outcome.failed == ["activity_user_present"]


def test_a_drop_expectation_needs_a_row_predicate():
    with pytest.raises(ValueError, match="needs a row predicate"):
        Expectation("x", lambda: gxe.ExpectColumnValuesToNotBeNull(column="x"), Policy.DROP)


def test_the_same_suite_checked_side_by_side_on_a_new_context_gets_one_definition(monkeypatch):
    """Checks run side by side (silver's hubs, the gold audit's): two threads that ask a new context for the same
    suite's definition at once both validate. The context's lookup is held until both have asked (or half a
    second has passed): without the lock around making definitions, both miss and the second add raises "already
    exists" (it did in about one round in ten, unforced)."""
    import contextlib
    import threading

    import pandas as pd

    from parkpal_lakehouse.quality import runner

    suite = (Expectation("one_row", lambda: gxe.ExpectColumnValuesToBeBetween(column="rows", min_value=1,
                                                                               max_value=1), Policy.FAIL),)
    runner._context.cache_clear()
    definitions = runner._context().validation_definitions
    lookup, both_asked = definitions.get, threading.Barrier(2, timeout=0.5)

    def held_lookup(name: str):
        with contextlib.suppress(threading.BrokenBarrierError):  # the lock let one thread in alone
            both_asked.wait()
        return lookup(name)

    monkeypatch.setattr(definitions, "get", held_lookup)
    results, errors = [], []

    def validate() -> None:
        try:
            definition = runner._validation("gold.race_probe", suite, "pandas")
            results.append(definition.run(batch_parameters={"dataframe": pd.DataFrame({"rows": [1, 2]})}))
        except Exception as error:  # reported below
            errors.append(error)

    try:
        threads = [threading.Thread(target=validate) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        runner._context.cache_clear()  # the next check makes a context of its own, unpatched
    assert errors == [] and [r.success for r in results] == [False, False], errors


def test_fail_expectation_stops_the_stream_and_commits_nothing_of_that_batch(spark, tmp_path, monkeypatch):
    """A suite whose fail expectation the data breaks: the query stops with the expectation's name, and
    silver holds nothing of the failing batch; the next run replays it once the suite is fixed."""
    from parkpal_lakehouse import ingestion
    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.io.delta import read_table
    from parkpal_lakehouse.quality.runner import QualityGateFailed
    from parkpal_lakehouse.silver.reference import load_reference_tables

    config = local_config(tmp_path)
    load_reference_tables(spark, config)
    folder = tmp_path / "landing" / "activity-events" / "2026" / "11" / "02" / "00"
    folder.mkdir(parents=True)
    body = ('{"userId":100001,"sessionId":7,"activityType":"STILL","confidence":%d,"latitude":14.55,'
            '"longitude":121.02,"timestamp":"2026-11-02T00:01:00Z","eventId":"a-%d"}')
    (folder / "00-00000.jsonl").write_text("\n".join(body % (c, c) for c in (90, 10)) + "\n")
    strict = (Expectation("activity_confidence_at_least_50",
                          lambda: gxe.ExpectColumnValuesToBeBetween(column="confidence", min_value=50),
                          Policy.FAIL),)
    original = SILVER_SUITES["silver.activity_events"]
    monkeypatch.setitem(SILVER_SUITES, "silver.activity_events", strict)
    with pytest.raises(QualityGateFailed, match="activity_confidence_at_least_50"):
        ingestion.run_ingestion(spark, config, [Hub.ACTIVITY], progress=lambda _m: None)
    assert read_table(spark, config, "silver.activity_events").count() == 0
    assert read_table(spark, config, "bronze.activity_events_raw").count() == 2  # bronze keeps everything

    monkeypatch.setitem(SILVER_SUITES, "silver.activity_events", original)
    ingestion.run_ingestion(spark, config, [Hub.ACTIVITY], progress=lambda _m: None)
    silver = read_table(spark, config, "silver.activity_events")
    assert sorted(r.event_id for r in silver.select("event_id").collect()) == ["a-10", "a-90"]
    assert silver.filter(F.col("confidence") == 10).count() == 1
