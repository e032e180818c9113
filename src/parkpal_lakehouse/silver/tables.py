"""Names of the silver tables and the reference tables they are checked against."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.io.tables import read_table, table_exists

QUARANTINE = "silver.quarantine"
ZONES = "silver.zones"
VEHICLES = "silver.vehicles"
STREET_COUNTS = "silver.street_counts"


def silver_table(hub: Hub) -> str:
    return f"silver.{hub.value.replace('-', '_')}"


def zones_reference(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    if not table_exists(spark, config, ZONES):
        raise ConfigError("no zones reference table: load it first (`parkpal reference load`, or run the demo)")
    return read_table(spark, config, ZONES)
