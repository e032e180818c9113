"""Each local day's gate entries kept in `gold.gate_entry_counts`: which kept days are used (a rule on
hand-written marks), and the kept table through late entries, a new registration and days without entries
(against hand-computed counts in Manila time)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import chispa
from pyspark.sql import functions as F

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.gold.entry_counts import KeptDay, days_to_count, gate_entry_counts
from parkpal_lakehouse.gold.schemas import GATE_ENTRY_COUNTS_DDL, PARTITIONS
from parkpal_lakehouse.io.delta import create_tables_if_missing, overwrite_table, read_table, table_version
from parkpal_lakehouse.io.writers import append_rows
from parkpal_lakehouse.names import GATE_ENTRY_COUNTS, VEHICLES, silver_table

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
COUNTED = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=60)


def test_a_kept_day_is_used_until_an_entry_of_it_is_written_after_its_count_began_less_the_margin():
    kept = {D1: KeptDay(COUNTED, 3, "Asia/Manila"), D2: KeptDay(COUNTED, 3, "Asia/Manila")}
    written = {D1: COUNTED - MARGIN - timedelta(seconds=1),  # before the count began, beyond the margin: used
               D2: COUNTED - MARGIN}                          # within the margin: counted again
    assert days_to_count([D1, D2, D3], kept, written, 3, "Asia/Manila", MARGIN) == [D2, D3]  # D3 was never kept
    assert days_to_count([D1], kept, {D1: COUNTED + timedelta(hours=5)}, 3, "Asia/Manila", MARGIN) == [D1]
    assert days_to_count([D1, D2], kept, {}, 3, "Asia/Manila", MARGIN) == []


def test_another_registered_plates_version_or_time_zone_counts_the_day_again():
    kept = {D1: KeptDay(COUNTED, 3, "Asia/Manila"), D2: KeptDay(COUNTED, None, "Asia/Manila")}
    assert days_to_count([D1, D2], kept, {}, 4, "Asia/Manila", MARGIN) == [D1, D2]  # a registration since
    assert days_to_count([D1], kept, {}, 3, "Asia/Tokyo", MARGIN) == [D1]
    assert days_to_count([D2], kept, {}, None, "Asia/Manila", MARGIN) == []


GATE_DDL = ("event_id STRING, event_type STRING, zone_id BIGINT, event_time TIMESTAMP, license_plate STRING, "
            "processed_at TIMESTAMP, event_date DATE")
COUNTS_DDL = "entry_date DATE, zone_id BIGINT, hour_of_week INT, entries BIGINT, app_entries BIGINT"


def gate_rows(spark, rows, processed_at: datetime):
    return spark.createDataFrame([(*r, processed_at, r[3].date()) for r in rows], GATE_DDL)


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=UTC)


def test_kept_days_are_read_back_and_counted_again_after_a_late_entry_or_a_new_registration(spark, tmp_path):
    config = local_config(tmp_path / "lake")  # change_margin_minutes 60
    no_margin = replace(config, gold=replace(config.gold, change_margin_minutes=0))
    create_tables_if_missing(spark, config, [(GATE_ENTRY_COUNTS, GATE_ENTRY_COUNTS_DDL, PARTITIONS[GATE_ENTRY_COUNTS])])
    overwrite_table(spark.createDataFrame([(1, "AAA 111")], "user_id BIGINT, license_plate STRING"), config, VEHICLES)
    written_before = datetime.now(UTC) - timedelta(hours=2)
    overwrite_table(gate_rows(spark, [
        ("e1", "VEHICLE_ENTRY", 1, utc(1, 1), "AAA 111"),  # Sun 09:00 in Manila (hour of week 153), an app user's
        ("e2", "VEHICLE_ENTRY", 1, utc(1, 1), "BBB 222"),  # the same hour, not an app user's
        ("e2", "VEHICLE_ENTRY", 1, utc(1, 1), "BBB 222"),  # redelivered: counts once
        ("e3", "VEHICLE_ENTRY", 2, utc(1, 17), "AAA 111"),  # Mon 01:00 on 2 Nov in Manila (hour 1)
        ("e4", "VEHICLE_ENTRY", 1, utc(2, 20), "CCC 333"),  # Tue 04:00 on 3 Nov in Manila (hour 28)
        ("x1", "VEHICLE_EXIT", 1, utc(1, 3), "AAA 111"),    # not an entry
        ("x2", "VEHICLE_ENTRY", 1, utc(1, 3), None),        # an entry without a plate read
    ], written_before), config, silver_table(Hub.GATE))
    first = date(2026, 10, 31)  # a day without entries

    def counts_of(rows):
        return spark.createDataFrame(rows, COUNTS_DDL)

    def counted(settings=config):
        return gate_entry_counts(spark, settings, first, D3)

    expected = [(D1, 1, 153, 2, 1), (D2, 2, 1, 1, 1), (D3, 1, 28, 1, 0)]
    chispa.assert_df_equality(counted(), counts_of(expected), ignore_row_order=True, ignore_nullable=True)
    kept = read_table(spark, config, GATE_ENTRY_COUNTS)
    # Every day but the newest kept, each with its one row without a zone (31 Oct has only that).
    assert sorted((r.entry_date, r.zone_id or 0) for r in kept.collect()) == [
        (date(2026, 10, 31), 0), (D1, 0), (D1, 1), (D2, 0), (D2, 2)]
    version = table_version(spark, config, GATE_ENTRY_COUNTS)

    chispa.assert_df_equality(counted(), counts_of(expected), ignore_row_order=True, ignore_nullable=True)
    assert table_version(spark, config, GATE_ENTRY_COUNTS) == version  # read back, nothing counted again

    late_written = datetime.now(UTC)
    append_rows(gate_rows(spark, [("e5", "VEHICLE_ENTRY", 2, utc(1, 2), "BBB 222")], late_written),  # Sun 10:00
                config, silver_table(Hub.GATE))
    expected.append((D1, 2, 154, 1, 0))
    chispa.assert_df_equality(counted(), counts_of(expected), ignore_row_order=True, ignore_nullable=True)
    # 1 Nov counted again, but not kept: its newest entry was written within the margin before the count began.
    assert table_version(spark, config, GATE_ENTRY_COUNTS) == version
    chispa.assert_df_equality(counted(no_margin), counts_of(expected), ignore_row_order=True, ignore_nullable=True)
    assert table_version(spark, config, GATE_ENTRY_COUNTS) == version + 1  # without a margin: counted and kept
    recounted = {r.counted_at for r in read_table(spark, config, GATE_ENTRY_COUNTS).filter(
        F.col("entry_date") == F.lit(D1)).collect()}
    assert len(recounted) == 1 and recounted.pop() > late_written.replace(tzinfo=None)  # marked with its new count
    chispa.assert_df_equality(counted(no_margin), counts_of(expected), ignore_row_order=True, ignore_nullable=True)
    assert table_version(spark, config, GATE_ENTRY_COUNTS) == version + 1

    overwrite_table(spark.createDataFrame([(1, "AAA 111"), (2, "BBB 222")], "user_id BIGINT, license_plate STRING"),
                    config, VEHICLES)  # BBB 222 registered: its earlier entries are an app user's
    registered = [(D1, 1, 153, 2, 2), (D2, 2, 1, 1, 1), (D3, 1, 28, 1, 0), (D1, 2, 154, 1, 1)]
    chispa.assert_df_equality(counted(no_margin), counts_of(registered), ignore_row_order=True, ignore_nullable=True)
    assert table_version(spark, config, GATE_ENTRY_COUNTS) == version + 2

