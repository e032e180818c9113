"""Loading the operators' reference CSVs into silver: the three tables hold the files' rows, and a folder with
one bad file changes none of them."""

import shutil

import chispa
import pytest

from parkpal_lakehouse.contracts.reference import sample_reference_dir, vehicles_df, zones_df
from parkpal_lakehouse.errors import EventContractError
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.names import STREET_COUNTS, VEHICLES, ZONES
from parkpal_lakehouse.silver.reference import load_reference_tables


def test_a_folder_with_a_bad_file_changes_no_table(spark, lakehouse, tmp_path):
    load_reference_tables(spark, lakehouse)  # the packaged sample city
    sample = sample_reference_dir()
    chispa.assert_df_equality(read_table(spark, lakehouse, ZONES), zones_df(spark, sample / "zones.csv"),
                              ignore_row_order=True, ignore_nullable=True)
    chispa.assert_df_equality(read_table(spark, lakehouse, VEHICLES), vehicles_df(spark, sample / "vehicles.csv"),
                              ignore_row_order=True, ignore_nullable=True)
    assert read_table(spark, lakehouse, STREET_COUNTS).count() == 0  # the sample has no street counts file
    zones_before, vehicles_before = (read_table(spark, lakehouse, t).collect() for t in (ZONES, VEHICLES))

    # another city's zones (valid, one fewer), with a vehicles file whose header lacks a column
    folder = tmp_path / "reference"
    folder.mkdir()
    lines = (sample / "zones.csv").read_text().splitlines()
    (folder / "zones.csv").write_text("\n".join(lines[:-1]) + "\n")
    shutil.copy(sample / "vehicles.csv", folder / "vehicles.csv")
    (folder / "vehicles.csv").write_text((folder / "vehicles.csv").read_text().replace("licensePlate", "plate", 1))
    with pytest.raises(EventContractError, match="lacks columns: licensePlate"):
        load_reference_tables(spark, lakehouse, folder)
    assert read_table(spark, lakehouse, ZONES).collect() == zones_before
    assert read_table(spark, lakehouse, VEHICLES).collect() == vehicles_before
