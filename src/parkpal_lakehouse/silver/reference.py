"""The reference data in silver: loading the operators' CSVs into `silver.zones`, `silver.vehicles` and
`silver.street_counts`, and reading the zones that events are checked against."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.reference import (
    STREET_COUNTS_DDL,
    load_street_counts,
    sample_reference_dir,
    vehicles_df,
    zones_df,
)
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.io.delta import local_table_exists, overwrite_table, read_table, table_exists
from parkpal_lakehouse.io.writers import side_by_side
from parkpal_lakehouse.names import STREET_COUNTS, VEHICLES, ZONES

NO_ZONES = "no zones reference table: load it first (`parkpal reference load`, or run the demo)"


def zones_reference(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    if not table_exists(spark, config, ZONES):
        raise ConfigError(NO_ZONES)
    return read_table(spark, config, ZONES)


def check_zones_loaded(config: LakehouseConfig) -> None:
    """On a local root, the same check as `zones_reference` before Spark starts (a table there is a folder),
    so the error comes in a second, not after the JVM's start. On Databricks it waits for Spark."""
    if config.is_local and not local_table_exists(config, ZONES):
        raise ConfigError(NO_ZONES)


def load_reference_tables(spark: SparkSession, config: LakehouseConfig, folder: str | Path | None = None) -> list[str]:
    """Write `zones.csv`, `vehicles.csv` and (if present) `street_counts.csv` from `folder` (default: the
    packaged sample city) into `silver.zones`, `silver.vehicles` and `silver.street_counts`, replacing
    them; returns the physical table names. Every file is read and checked before any table is written (a bad
    one changes none), then the three tables are written side by side, each its own commit (a new root 1.3-1.5
    -> 0.9-1.1 s warm; issue 21)."""
    base = Path(folder) if folder else sample_reference_dir()
    tables = [(zones_df(spark, base / "zones.csv"), ZONES), (vehicles_df(spark, base / "vehicles.csv"), VEHICLES),
              (spark.createDataFrame(load_street_counts(base / "street_counts.csv"), STREET_COUNTS_DDL), STREET_COUNTS)]
    return side_by_side([lambda df=df, name=name: overwrite_table(df, config, name) for df, name in tables])
