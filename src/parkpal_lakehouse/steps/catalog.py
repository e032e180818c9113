"""The catalog step: layer schemas, (locally) the root's tables, and gold's analyst views.

The setup step runs it on every target and the hourly job refreshes the views after each write
(`gold.hourly`). A local catalog lasts only as long as its process, so a local step also runs it before
it reads (`StepContext.spark`); Databricks' catalog persists.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.gold.views import create_views
from parkpal_lakehouse.io.catalog import create_schemas, register_local_tables


def prepare_catalog(spark: SparkSession, config: LakehouseConfig) -> list[str]:
    """Create the schemas, register a local root's tables and create the views; returns the names made."""
    return create_schemas(spark, config) + register_local_tables(spark, config) + create_views(spark, config)
