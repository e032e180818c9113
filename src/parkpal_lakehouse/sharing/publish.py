"""A recipient's view of gold: the shared columns of the rows of its own zones.

On Databricks these are views filtered by `CURRENT_RECIPIENT(...)` (infra/sharing.tf). The local Delta
Sharing server serves Delta tables as they are, so `publish_shares` writes each recipient's views as
Delta tables under `<root>/sharing/<share>/<table>`, one commit per table per publish.
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig, join_uri
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.gold.keys import pseudonym_key
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.sharing.definition import Recipient, ShareDefinition, SharedTable, gold_ddl


@dataclass(frozen=True)
class PublishedTable:
    share: str
    table: str
    rows: int
    path: str


def recipient_zone_ids(dim_zone: DataFrame, recipient: Recipient) -> DataFrame:
    """zone_id of every zone the recipient runs or governs (current dim_zone rows)."""
    return (dim_zone.where(F.col("is_current") & (F.col(recipient.zone_column) == F.lit(recipient.zone_value)))
            .select("zone_id").distinct())


def shared_rows(source: DataFrame, table: SharedTable, zone_ids: DataFrame) -> DataFrame:
    """What the recipient may read of one gold table: its zones' rows, the listed columns, in their order."""
    rows = source.where(F.col("is_current")) if table.current_only else source
    if table.zone_scoped:
        rows = rows.join(F.broadcast(zone_ids), "zone_id", "left_semi")
    return rows.select(*table.columns)


def gold_source(spark: SparkSession, config: LakehouseConfig, table: SharedTable) -> DataFrame:
    """The gold table; one not written yet (no forecasts scored) is shared empty, with its schema."""
    if table_exists(spark, config, table.source):
        return read_table(spark, config, table.source)
    return spark.createDataFrame([], gold_ddl()[table.name])


def share_table_path(config: LakehouseConfig, share: str, table: str) -> str:
    return join_uri(config.storage_root, "sharing", share, table)


def publish_shares(spark: SparkSession, config: LakehouseConfig, definition: ShareDefinition,
                   recipients: list[str] | None = None) -> list[PublishedTable]:
    """Write every (or the named) recipient's shared tables; returns rows per table."""
    if not config.is_local:
        raise ParkPalError("on Databricks the shares are views (infra/sharing.tf); publish is for the local server")
    chosen = [definition.recipient(n) for n in recipients] if recipients else list(definition.recipients)
    pseudonym_key(config)  # gold's pseudonyms must come from a key nobody else has, or nothing is shared
    if not table_exists(spark, config, "gold.dim_zone"):
        raise ParkPalError(f"gold is not built under {config.storage_root}: run `parkpal hourly` "
                           "(or `parkpal demo`) first")
    sources = {t.name: gold_source(spark, config, t) for t in definition.tables}
    dim_zone = read_table(spark, config, "gold.dim_zone")
    published: list[PublishedTable] = []
    for recipient in chosen:
        zone_ids = recipient_zone_ids(dim_zone, recipient).cache()
        for table in definition.tables:
            rows = shared_rows(sources[table.name], table, zone_ids)
            path = share_table_path(config, recipient.share, table.name)
            # Small per-recipient slices: one file each, so a client fetches a table in one request.
            (rows.coalesce(1).write.format("delta").mode("overwrite").option("overwriteSchema", "true")
             .option("delta.enableDeletionVectors", "false").save(path))
            last = DeltaTable.forPath(spark, path).history(1).first()
            count = int((last["operationMetrics"] or {}).get("numOutputRows", 0))
            published.append(PublishedTable(recipient.share, table.name, count, path))
        zone_ids.unpersist()
    return published
