"""The catalog the lakehouse's tables are named in: the layer schemas, and locally the tables themselves.

On Databricks, Unity Catalog keeps schemas and tables; the setup step creates the schemas once. Locally
the catalog lives in the Spark process (in memory): each process attaches the root's tables by name,
one directory listing per layer, so separate processes see the same tables without a metastore.
Nothing here runs when a session is created: the steps call it (steps/catalog.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LAYERS, LakehouseConfig
from parkpal_lakehouse.io.delta import register


def create_schemas(spark: SparkSession, config: LakehouseConfig, layers: Sequence[str] = LAYERS) -> list[str]:
    """CREATE SCHEMA IF NOT EXISTS for each layer (bronze/silver/gold/ops); returns their names."""
    names = [config.schema_name(layer) for layer in layers]
    for name in names:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {name}")
    return names


def register_local_tables(spark: SparkSession, config: LakehouseConfig, layers: Sequence[str] = LAYERS
                          ) -> list[str]:
    """Register every Delta table found under a local root (`<root>/tables/<layer>/<table>`) by name
    (each in its layer's database, created with it). Idempotent; a no-op on Databricks. Returns the names."""
    if not config.is_local:
        return []
    registered: list[str] = []
    for layer in layers:
        layer_dir = Path(config.table_path(f"{layer}.x")).parent
        if layer_dir.is_dir():
            registered += [register(spark, config, f"{layer}.{d.name}")
                           for d in sorted(layer_dir.iterdir()) if (d / "_delta_log").is_dir()]
    return registered


def lakehouse_tables(spark: SparkSession, config: LakehouseConfig) -> list[str]:
    """Logical names (`layer.table`) of the lakehouse's tables in every layer, views excluded."""
    create_schemas(spark, config)
    register_local_tables(spark, config)
    names = []
    for layer in LAYERS:
        names += [f"{layer}.{r.tableName}" for r in spark.sql(f"SHOW TABLES IN {config.schema_name(layer)}").collect()
                  if not r.isTemporary and not r.tableName.startswith("v_")]
    return names
