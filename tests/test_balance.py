"""When the closing balance cannot count on from the last one, it counts everything and says why.

(Counting on through the real pipeline, and a loss seen by it: `tests/test_landing.py`.) Redeliveries
are appended to bronze directly here: a copy of a valid record under a new record id is a duplicate, so
every balance below still reads 0 unless a step breaks it on purpose.
"""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.balance import how_counted
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.writers import append_rows
from parkpal_lakehouse.names import INGESTION_BALANCE, bronze_table
from parkpal_lakehouse.silver.reference import load_reference_tables
from tests.support.landing import HUB, counted_on, entry, figures, ingest, land

pytestmark = pytest.mark.slow


def redeliver(spark, lake, event_id: str, record_id: str) -> None:
    """Append a copy of `event_id`'s bronze record under another record id (a plain Delta append)."""
    record = read_table(spark, lake, bronze_table(HUB)).where(F.col("body").contains(f'"{event_id}"')).limit(1)
    append_rows(record.withColumn("record_id", F.lit(record_id)).localCheckpoint(), lake, bronze_table(HUB))


def test_the_closing_balance_counts_everything_again_when_bronze_had_more_than_appends(spark, lakehouse):
    lake = lakehouse
    load_reference_tables(spark, lake)
    bronze = lake.table_path(bronze_table(HUB))
    land(lake, "2026/11/02/08/00", "a.jsonl",
         [entry("e1", "2026-11-02T08:01:00Z"), entry("e2", "2026-11-02T08:02:00Z"), "not json"])
    ingest(spark, lake)
    first = counted_on(spark, lake)
    assert how_counted(first) == "all"
    # a newer balance recorded by an older version (its counts not read at the versions it names): not built on
    older = json.loads(first.counted_from)
    del older["counted"]
    append_rows(spark.createDataFrame([first]).withColumn("checked_at", F.current_timestamp())
                .withColumn("counted_from", F.lit(json.dumps(older))), lake, INGESTION_BALANCE)
    assert how_counted(counted_on(spark, lake)) == "all"
    redeliver(spark, lake, "e1", "copy-1")
    appended = counted_on(spark, lake)
    assert how_counted(appended) == "appended since bronze version 1: 1 record(s)"
    assert figures(appended) == (4, 2, 1, 1, 0)

    # bronze stops recording its change feed (as on a root made before it did): everything, and the fix, said
    spark.sql(f"ALTER TABLE delta.`{bronze}` SET TBLPROPERTIES (delta.enableChangeDataFeed = false)")
    redeliver(spark, lake, "e2", "copy-2")
    unrecorded = counted_on(spark, lake)
    assert how_counted(unrecorded).startswith("all (no change data feed recorded by ")
    assert "SET TBLPROPERTIES (delta.enableChangeDataFeed = true)" in how_counted(unrecorded)
    assert figures(unrecorded) == (5, 2, 1, 2, 0)

    # a record deleted from bronze is not an append: everything is counted again
    spark.sql(f"DELETE FROM delta.`{bronze}` WHERE record_id = 'copy-1'")
    deleted = counted_on(spark, lake)
    assert how_counted(deleted) == "all (bronze version 5 is a DELETE)"  # 0 created, 1 ingested, 2 and 4 appended
    assert figures(deleted) == (4, 2, 1, 1, 0)
