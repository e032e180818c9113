"""Reading and writing Delta tables by logical name ("silver.activity_events").

Locally a table is a Delta folder under `<root>/tables/<layer>/<table>` registered in the local
catalog; on Databricks it is the Unity Catalog table `<catalog>.<schema>.<table>`. Callers never
build names or paths themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType

from parkpal_lakehouse.config import LakehouseConfig

# name -> location registered in this process's local catalog (per SparkContext).
_registered: dict[tuple[int, str], str] = {}


def register(spark: SparkSession, config: LakehouseConfig, logical: str) -> str:
    """Make a locally written Delta folder queryable by name; a no-op on Databricks.

    A name already pointing at another root's folder (another lakehouse in the same process, even one
    deleted since) is re-pointed: the local catalog always names the tables of the root last used.
    """
    name = config.table_name(logical)
    if not config.is_local:
        return name
    location = config.table_path(logical)
    key = (id(spark.sparkContext), name)
    if _registered.get(key) == location:
        return name
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.rsplit('.', 1)[0]}")
    try:
        # The catalog's own record (DESCRIBE DETAIL would compute a Delta snapshot: 0.5 s a table, paid by
        # every table of every new root a process uses, issue 21).
        current = _catalog_location(spark, name) if spark.catalog.tableExists(name) else None
    except AnalysisException as error:  # Spark resolves the entry: its folder may be gone (a deleted root)
        if error.getCondition() != "DELTA_PATH_DOES_NOT_EXIST":
            raise
        current = ""
    if current is not None and current.removeprefix("file:").rstrip("/") != location.rstrip("/"):
        spark.sql(f"DROP TABLE IF EXISTS {name}")  # external table: the files stay
    spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING DELTA LOCATION '{location}'")
    _registered[key] = location
    return name


def _catalog_location(spark: SparkSession, name: str) -> str:
    """Where the local catalog says `name` lives ("" for an entry without a location, such as a view)."""
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    return next((r[1] for r in rows if r[0] == "Location"), "")


def save(writer: DataFrameWriter, spark: SparkSession, config: LakehouseConfig, logical: str) -> str:
    """Run a configured Delta writer against a logical table: its folder locally (then registered), the
    Unity Catalog table on Databricks. The one place that tells the two apart for writes."""
    if config.is_local:
        writer.save(config.table_path(logical))
        return register(spark, config, logical)
    writer.saveAsTable(config.table_name(logical))
    return config.table_name(logical)


def overwrite_table(df: DataFrame, config: LakehouseConfig, logical: str) -> str:
    """Replace a table's contents (and schema) in one Delta commit; returns its physical name."""
    writer = df.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
    return save(writer, df.sparkSession, config, logical)


def read_table(spark: SparkSession, config: LakehouseConfig, logical: str, version: int | None = None) -> DataFrame:
    """A table's rows: the newest version, or `version` (Delta time travel)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    if config.is_local:
        return reader.load(config.table_path(logical))
    return reader.table(config.table_name(logical))


def read_appended(spark: SparkSession, config: LakehouseConfig, logical: str, after: int, until: int) -> DataFrame:
    """The rows the commits after version `after` up to `until` inserted, from the table's change data feed
    (`delta.enableChangeDataFeed`: bronze has it, `CHANGE_FEED`), with `_change_type`; Delta refuses a range
    the feed was not recorded for (a table created without it). Commits that only rewrite files (OPTIMIZE)
    insert nothing."""
    reader = (spark.read.format("delta").option("readChangeFeed", "true")
              .option("startingVersion", after + 1).option("endingVersion", until))
    if config.is_local:
        return reader.load(config.table_path(logical))
    return reader.table(config.table_name(logical))


def read_stream(spark: SparkSession, config: LakehouseConfig, logical: str,
                options: dict[str, str] | None = None) -> DataFrame:
    """A Delta table as a streaming source (new commits become micro-batches)."""
    reader = spark.readStream.format("delta").options(**(options or {}))
    if config.is_local:
        return reader.load(config.table_path(logical))
    return reader.table(config.table_name(logical))


def delta_table(spark: SparkSession, config: LakehouseConfig, logical: str) -> DeltaTable:
    """The `DeltaTable` handle (for MERGE, DELETE, history) of a logical table."""
    if config.is_local:
        return DeltaTable.forPath(spark, config.table_path(logical))
    return DeltaTable.forName(spark, config.table_name(logical))


def table_version(spark: SparkSession, config: LakehouseConfig, logical: str) -> int | None:
    """The table's newest Delta version (from its history: no data read); None if it does not exist."""
    if not table_exists(spark, config, logical):
        return None
    row = delta_table(spark, config, logical).history(1).select("version").first()
    return None if row is None else int(row[0])


def local_table_exists(config: LakehouseConfig, logical: str) -> bool:
    """On a local root a table is a folder: answered without Spark (callers check before starting it)."""
    from pathlib import Path

    return (Path(config.table_path(logical)) / "_delta_log").is_dir()


def table_exists(spark: SparkSession, config: LakehouseConfig, logical: str) -> bool:
    if config.is_local:
        return local_table_exists(config, logical)
    return spark.catalog.tableExists(config.table_name(logical))


def _nullable(data_type: DataType) -> DataType:
    """`data_type` with every field, element and value nullable, at every depth."""
    if isinstance(data_type, StructType):
        return StructType([StructField(f.name, _nullable(f.dataType), True, f.metadata) for f in data_type.fields])
    if isinstance(data_type, ArrayType):
        return ArrayType(_nullable(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(_nullable(data_type.keyType), _nullable(data_type.valueType), True)
    return data_type


def create_table_if_missing(spark: SparkSession, config: LakehouseConfig, logical: str, schema: StructType | str,
                            partition_by: Sequence[str] = (), properties: Mapping[str, str] | None = None) -> None:
    """Create an empty Delta table (with table `properties`), so concurrent writers append instead of racing
    to create it."""
    if table_exists(spark, config, logical):
        return
    fields = spark.createDataFrame([], schema).schema if isinstance(schema, str) else schema
    # A metadata-only commit (no Spark job writing an empty frame: half the time, issue 21). Every column
    # nullable, as a DataFrame write makes them: no NOT NULL constraint a later micro-batch could break.
    builder = DeltaTable.createIfNotExists(spark).addColumns(_nullable(fields))
    if partition_by:
        builder = builder.partitionedBy(*partition_by)
    for key, value in (properties or {}).items():
        builder = builder.property(key, value)
    builder = builder.location(config.table_path(logical)) if config.is_local else \
        builder.tableName(config.table_name(logical))
    try:
        builder.execute()
        register(spark, config, logical)
    except Exception:
        if not table_exists(spark, config, logical):  # someone else created it first: fine
            raise
        register(spark, config, logical)


# Record each commit's row changes, so a reader can take what was appended since a version it saw (bronze:
# `balance` counts what each run appended, not the whole history). An append records no extra files.
CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}

# A table to create: logical name, schema (a StructType or DDL), partition columns and, optionally, properties.
TableSpec: TypeAlias = (tuple[str, StructType | str, Sequence[str]]
                        | tuple[str, StructType | str, Sequence[str], Mapping[str, str]])


def create_tables_if_missing(spark: SparkSession, config: LakehouseConfig, tables: Sequence[TableSpec]) -> None:
    """`create_table_if_missing` for each table, side by side: each is its own metadata commit and catalog
    entry, ~0.3 s of driver work a table, and a new root has 4-13 of them at each step (issue 21)."""
    from parkpal_lakehouse.io.writers import side_by_side  # writers builds on this module

    missing = [spec for spec in {spec[0]: spec for spec in tables}.values() if not table_exists(spark, config, spec[0])]
    side_by_side([lambda spec=spec: create_table_if_missing(spark, config, *spec) for spec in missing])
