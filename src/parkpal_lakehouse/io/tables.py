"""Reading and writing Delta tables by logical name ("silver.activity_events").

Locally a table is a Delta folder under `<root>/tables/<layer>/<table>` registered in the local
catalog; on Databricks it is the Unity Catalog table `<catalog>.<schema>.<table>`. Callers never
build names or paths themselves.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import LakehouseConfig


def register(spark: SparkSession, config: LakehouseConfig, logical: str) -> str:
    """Make a locally written Delta folder queryable by name; a no-op on Databricks."""
    name = config.table_name(logical)
    if config.is_local:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.rsplit('.', 1)[0]}")
        spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{config.table_path(logical)}'")
    return name


def overwrite_table(df: DataFrame, config: LakehouseConfig, logical: str) -> str:
    """Replace a table's contents (and schema) in one Delta commit; returns its physical name."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    if config.is_local:
        writer.save(config.table_path(logical))
        return register(df.sparkSession, config, logical)
    writer.saveAsTable(config.table_name(logical))
    return config.table_name(logical)


def read_table(spark: SparkSession, config: LakehouseConfig, logical: str) -> DataFrame:
    if config.is_local:
        return spark.read.format("delta").load(config.table_path(logical))
    return spark.read.table(config.table_name(logical))


def table_exists(spark: SparkSession, config: LakehouseConfig, logical: str) -> bool:
    if config.is_local:
        from pathlib import Path

        return (Path(config.table_path(logical)) / "_delta_log").is_dir()
    return spark.catalog.tableExists(config.table_name(logical))
