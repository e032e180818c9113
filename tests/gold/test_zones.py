"""`gold.dim_zone` as a type-2 slowly changing dimension."""

import threading
from datetime import datetime

from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.reference import zones_df
from parkpal_lakehouse.gold.schemas import GOLD_TABLES, prepare_gold_tables
from parkpal_lakehouse.gold.zones import EARLIEST, apply_zone_changes, zones_at
from parkpal_lakehouse.io.conflicts import with_conflict_retries
from parkpal_lakehouse.io.delta import create_table_if_missing, read_table
from parkpal_lakehouse.names import DIM_ZONE


def test_changes_close_the_old_version_and_open_a_new_one(spark, lakehouse):
    config = lakehouse
    prepare_gold_tables(spark, config)
    zones = zones_df(spark)
    count = zones.count()
    assert apply_zone_changes(spark, config, zones, datetime(2026, 11, 1)) == count
    assert apply_zone_changes(spark, config, zones, datetime(2026, 11, 2)) == 0  # same reference: nothing

    changed_at = datetime(2026, 12, 1)
    bigger = zones.withColumn("capacity", F.when(F.col("zone_id") == 1, F.col("capacity") + 50)
                              .otherwise(F.col("capacity")))
    assert apply_zone_changes(spark, config, bigger, changed_at) == 1
    dim = read_table(spark, config, DIM_ZONE)
    assert dim.count() == count + 1 and dim.filter("is_current").count() == count
    versions = dim.filter("zone_id = 1").orderBy("valid_from").collect()
    old, new = versions
    assert (old.valid_from, old.valid_to, old.is_current) == (EARLIEST, changed_at, False)
    assert (new.valid_from, new.valid_to, new.is_current) == (changed_at, None, True)
    assert new.capacity == old.capacity + 50 and new.zone_key != old.zone_key

    hours = spark.createDataFrame([(datetime(2026, 11, 15),), (datetime(2026, 12, 15),)], "hour_start TIMESTAMP")
    z = dim.alias("z")
    seen = {r.hour_start.month: r.capacity for r in
            hours.join(z, zones_at(z, F.col("hour_start"))).filter("zone_id = 1").collect()}
    assert seen == {11: old.capacity, 12: new.capacity}

    closed_at = datetime(2027, 1, 1)
    assert apply_zone_changes(spark, config, bigger.filter("zone_id <> 2"), closed_at) == 1  # zone 2 removed
    gone = read_table(spark, config, DIM_ZONE).filter("zone_id = 2").collect()
    assert len(gone) == 1 and (gone[0].is_current, gone[0].valid_to) == (False, closed_at)

    # A zone new to a dimension that already has versions opens at the change time, not at EARLIEST.
    opened_at = datetime(2027, 2, 1)
    added = bigger.filter("zone_id <> 2").unionByName(bigger.filter("zone_id = 1").withColumn("zone_id", F.lit(999)))
    assert apply_zone_changes(spark, config, added, opened_at) == 1
    new_zone = read_table(spark, config, DIM_ZONE).filter("zone_id = 999").collect()
    assert [(r.valid_from, r.valid_to, r.is_current) for r in new_zone] == [(opened_at, None, True)]


def test_two_first_loads_at_once_leave_one_version_per_zone(spark, lakehouse):
    """A first load only inserts; two of them racing (two hourly runs on a new lakehouse) must still not
    write a zone twice: the loser's MERGE conflicts with the winner's commit, is retried, and finds nothing
    to change. (Started together, the two MERGEs overlap nearly always; without the conflict check both
    insert: a mutant appending the new zones failed 3 of 3 runs. Sequential, the second finds them all.)"""
    create_table_if_missing(spark, lakehouse, DIM_ZONE, GOLD_TABLES[DIM_ZONE])  # the one table a load writes
    zones = zones_df(spark)
    count = zones.count()
    changed: list[int] = []
    errors: list[BaseException] = []

    def first_load() -> None:
        try:
            changed.append(with_conflict_retries(
                lambda: apply_zone_changes(spark, lakehouse, zones, datetime(2026, 11, 1)), attempts=5,
                what="dim_zone", base_delay_s=0.05))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=first_load) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(changed) == [0, count]
    versions = read_table(spark, lakehouse, DIM_ZONE).groupBy("zone_id").agg(
        F.count("*").alias("versions"), F.min("valid_from").alias("valid_from"), F.min("is_current").alias("current"))
    got = versions.collect()  # every zone of the reference, each once, current from EARLIEST
    assert sorted(r.zone_id for r in got) == sorted(r.zone_id for r in zones.select("zone_id").collect())
    assert {tuple(r[1:]) for r in got} == {(1, EARLIEST, True)}
