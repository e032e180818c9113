"""Where a forecasting command's series comes from: a local table cleaned once per driver while its bytes are
the same, and cleaned again the moment they change."""

from __future__ import annotations

import shutil

from chispa import assert_df_equality

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.forecasting.series import clean_occupancy, read_occupancy_table
from parkpal_lakehouse.forecasting.series_source import SeriesSource, cleaned_table, load_series, local_digest

HEADER = "SystemCodeNumber,Capacity,Occupancy,LastUpdated\n"


def _readings(*rows: tuple[str, int, int, str]) -> str:
    return HEADER + "".join(f"{zone},{capacity},{occupied},{at}\n" for zone, capacity, occupied, at in rows)


def test_a_local_table_is_cleaned_once_while_its_bytes_are_the_same(spark, tmp_path):
    csv = tmp_path / "occupancy.csv"
    csv.write_text(_readings(("A", 100, 40, "2026-10-05 08:10:00"), ("A", 100, 60, "2026-10-05 09:10:00")))
    config = local_config(tmp_path / "root")
    first, first_lines = load_series(spark, config, SeriesSource(input_path=str(csv)))
    again, again_lines = load_series(spark, config, SeriesSource(input_path=str(csv)))
    assert again is first and again_lines == first_lines  # kept: not read or cleaned again
    fresh, _ = clean_occupancy(read_occupancy_table(spark, str(csv), "csv"), config.timezone)
    assert_df_equality(again, fresh, ignore_row_order=True)
    # Another timezone is another cleaning (naive times are local to it).
    other, _ = load_series(spark, config, SeriesSource(input_path=str(csv), timezone="Europe/London"))
    assert other is not first

    # The same size and name, other bytes (a corrected export written over the old one): cleaned again.
    csv.write_text(_readings(("A", 100, 70, "2026-10-05 08:10:00"), ("A", 100, 90, "2026-10-05 09:10:00")))
    changed, _ = load_series(spark, config, SeriesSource(input_path=str(csv)))
    assert changed is not first
    assert sorted(r.occupancy_rate for r in changed.collect()) == [0.7, 0.9]


def test_only_local_tables_are_kept_and_a_folder_is_known_by_every_file(spark, tmp_path):
    assert local_digest("abfss://lake@account.dfs.core.windows.net/history.csv") is None
    assert local_digest(str(tmp_path / "missing.csv")) is None
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "part-1.csv").write_text(_readings(("B", 50, 10, "2026-10-05 08:00:00")))
    before = local_digest(str(folder))
    assert local_digest(f"file://{folder}") == before
    shutil.copy(folder / "part-1.csv", folder / "part-2.csv")
    assert local_digest(str(folder)) != before  # a file added to the folder changes it
    series, report = cleaned_table(spark, str(folder), "csv", "Asia/Manila", {})
    assert report.rows_read == 2 and report.exact_duplicates == 1
    assert [(r.zone_id, str(r.hour_start), r.occupancy_rate) for r in series.collect()] == \
        [("B", "2026-10-05 00:00:00", 0.2)]  # 08:00 in Manila, one reading of the two copies
    assert cleaned_table(spark, str(folder), "csv", "Asia/Manila", {})[0] is series
    # Not kept when told not to (`load_series` on a Databricks root: every task is its own process).
    unkept, _ = cleaned_table(spark, str(folder), "csv", "Asia/Manila", {}, keep=False)
    assert unkept is not series and cleaned_table(spark, str(folder), "csv", "Asia/Manila", {}, keep=False)[0] \
        is not unkept
