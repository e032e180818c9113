"""`frames.kept_with` / `kept_and_counted`: a frame kept, and figures over its rows, from one Spark job (issue 21);
`frames.one_per_key`: one whole row per key, the same whatever the order."""

from __future__ import annotations

from datetime import date

from chispa import assert_df_equality
from pyspark.sql import functions as F

from parkpal_lakehouse.frames import kept_and_counted, kept_with, one_per_key
from tests.support.spark_jobs import spark_counters


def _jobs(action) -> tuple[object, int]:
    before = spark_counters()[0]
    result = action()
    return result, spark_counters()[0] - before


def test_the_rows_are_counted_by_the_job_that_keeps_them(spark):
    zones = spark.range(40).select(F.col("id").alias("zone_id"), (F.col("id") % 3).alias("kind")).filter("kind > 0")
    (kept, rows), jobs = _jobs(lambda: kept_and_counted(zones))
    assert rows == 26 and kept.count() == 26
    assert_df_equality(kept, zones, ignore_row_order=True)
    # as many Spark jobs as keeping alone; keeping, then counting, takes more
    _, keeping = _jobs(lambda: zones.localCheckpoint())
    _, keeping_then_counting = _jobs(lambda: zones.localCheckpoint().count())
    assert jobs == keeping and keeping_then_counting > keeping, (jobs, keeping, keeping_then_counting)


def test_empty_and_aggregated_frames_are_counted_too(spark):
    assert kept_and_counted(spark.createDataFrame([], "zone_id BIGINT"))[1] == 0
    assert kept_and_counted(spark.range(10).filter("id > 100"))[1] == 0
    per_kind = spark.range(100).groupBy((F.col("id") % 7).alias("kind")).count()
    kept, rows = kept_and_counted(per_kind)
    assert rows == 7
    assert_df_equality(kept, per_kind, ignore_row_order=True)


def test_figures_by_name_come_from_the_same_job(spark):
    records = spark.createDataFrame([(True, date(2026, 11, 2)), (False, None), (True, date(2026, 11, 3)),
                                     (True, date(2026, 11, 2))], "valid BOOLEAN, event_date DATE")
    (kept, figures), jobs = _jobs(lambda: kept_with(
        records, records=F.count(F.lit(1)), valid=F.sum(F.col("valid").cast("long")),
        dates=F.array_sort(F.collect_set(F.when(F.col("valid"), F.col("event_date"))))))
    assert figures == {"records": 4, "valid": 3, "dates": [date(2026, 11, 2), date(2026, 11, 3)]}  # Python values
    assert_df_equality(kept, records, ignore_row_order=True)
    _, keeping = _jobs(lambda: records.localCheckpoint())
    assert jobs == keeping


def test_without_observed_metrics_the_figures_are_aggregated_after_keeping(spark, monkeypatch):
    """Spark Connect's checkpoint command returns no observed metrics (PySpark 4.2: `Observation.get` raises
    NO_OBSERVE_BEFORE_GET there; Connect does not run here, so its answer is given to the classic class)."""
    from pyspark.errors import PySparkAssertionError
    from pyspark.sql import Observation

    def no_metrics(self):
        raise PySparkAssertionError(errorClass="NO_OBSERVE_BEFORE_GET", messageParameters={})

    monkeypatch.setattr(Observation, "get", property(no_metrics))
    zones = spark.range(40).select(F.col("id").alias("zone_id"), (F.col("id") % 3).alias("kind")).filter("kind > 0")
    (kept, figures), jobs = _jobs(lambda: kept_with(zones, zones=F.count(F.lit(1)), kinds=F.sum("kind")))
    assert figures == {"zones": 26, "kinds": 39}
    assert_df_equality(kept, zones, ignore_row_order=True)
    _, keeping = _jobs(lambda: zones.localCheckpoint())
    assert jobs > keeping  # the aggregate's own job(s)


def test_one_per_key_keeps_the_copy_whose_pick_hashes_lowest_for_every_key_nulls_included(spark):
    """Silver's shape of key (an event date and a key, as `silver.parse.unseen_events` calls it), with keys that are
    null in one part or both: each distinct key, nulls compared as values (as `dropDuplicates` does), keeps exactly
    the row whose `record_id` hashes lowest, whole."""
    d1, d2 = date(2026, 11, 2), date(2026, 11, 3)
    rows = [("r1", d1, "k1", 1), ("r2", d1, "k1", 2), ("r3", d1, "k1", 3),  # one key three times
            ("r4", d2, "k1", 4),  # the same key on another date: its own
            ("r5", d1, None, 5), ("r6", d1, None, 6),  # null in one part: one key
            ("r7", None, None, 7), ("r8", None, None, 8),  # null in both: one key
            ("r9", None, "k1", 9)]
    schema = "record_id STRING, event_date DATE, _key STRING, n INT"
    events = spark.createDataFrame(rows, schema)
    hashed = {r.record_id: r.h for r in events.select("record_id", F.xxhash64("record_id").alias("h")).collect()}
    lowest: dict[tuple, tuple] = {}
    for row in rows:
        key = row[1:3]
        if key not in lowest or hashed[row[0]] < hashed[lowest[key][0]]:
            lowest[key] = row
    expected = spark.createDataFrame(list(lowest.values()), schema)
    assert len(lowest) == 5
    for order in (rows, rows[::-1]):
        kept = one_per_key(spark.createDataFrame(order, schema).repartition(3), ["event_date", "_key"])
        assert kept.columns == events.columns
        assert_df_equality(kept, expected, ignore_row_order=True)
