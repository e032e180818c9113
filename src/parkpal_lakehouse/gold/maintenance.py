"""Table maintenance: OPTIMIZE (Z-ordered on the query keys) and VACUUM.

The hourly job optimizes only the partitions it wrote; the weekly maintenance job optimizes every
gold table and vacuums gold and silver with a retention that keeps time travel for at least 7 days
(`GoldSettings.vacuum_retention_hours`). Both are safe beside the streaming jobs: OPTIMIZE commits
only rewrite files (no data change), and conflicts are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.gold.schemas import PARTITIONS, ZORDER
from parkpal_lakehouse.io.catalog import lakehouse_tables
from parkpal_lakehouse.io.conflicts import with_conflict_retries
from parkpal_lakehouse.io.delta import delta_table, table_exists
from parkpal_lakehouse.io.writers import side_by_side
from parkpal_lakehouse.names import ZONE_METRICS_HOURLY

VACUUMED_LAYERS = ("bronze", "silver", "gold")
VACUUMS_SIDE_BY_SIDE = 4


@dataclass(frozen=True)
class MaintenanceReport:
    optimized: dict[str, int]  # table -> files removed by compaction
    vacuumed: dict[str, int]  # table -> history kept, in hours
    retention_hours: int

    def lines(self) -> list[str]:
        return [f"OPTIMIZE {t}: {n} file(s) compacted" for t, n in self.optimized.items()] + \
            [f"VACUUM {t}: files older than {h} h removed" for t, h in self.vacuumed.items()]


def optimize_table(spark: SparkSession, config: LakehouseConfig, logical: str, where: str | None = None) -> int:
    """OPTIMIZE one table (optionally some partitions), Z-ordered by its query keys; files compacted."""
    def run() -> int:
        builder = delta_table(spark, config, logical).optimize()
        if where:
            builder = builder.where(where)
        keys = ZORDER.get(logical, ())
        metrics = builder.executeZOrderBy(*keys) if keys else builder.executeCompaction()
        row = metrics.select("metrics.numFilesRemoved").first()
        return int(row[0]) if row and row[0] is not None else 0
    return with_conflict_retries(run, config.gold.conflict_retries, f"optimize {logical}")


def optimize_dates(spark: SparkSession, config: LakehouseConfig, dates: Sequence[date]) -> int:
    """Compact the metric partitions the hourly job just wrote."""
    column = PARTITIONS[ZONE_METRICS_HOURLY][0]
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
    return optimize_table(spark, config, ZONE_METRICS_HOURLY, f"{column} IN ({listed})")


def run_maintenance(spark: SparkSession, config: LakehouseConfig, tables: Sequence[str],
                    retention_hours: int | None = None, optimize: Sequence[str] | None = None) -> MaintenanceReport:
    """OPTIMIZE `optimize` (default: every gold table with Z-order keys), then VACUUM `tables` keeping
    `retention_hours` (default from config; never below 7 days)."""
    hours = config.gold.vacuum_retention_hours if retention_hours is None else retention_hours
    if hours < 168:
        from parkpal_lakehouse.errors import ConfigError

        raise ConfigError(f"VACUUM retention {hours} h would break 7-day time travel; use at least 168")
    optimized = {t: optimize_table(spark, config, t) for t in (ZORDER if optimize is None else optimize)
                 if table_exists(spark, config, t)}
    present = [t for t in tables if table_exists(spark, config, t)]
    # A VACUUM is mostly the driver listing a table's files and committing its start and end: a few tables
    # side by side overlap that work (issue 21: 14 tables 24.9 -> 18.2 s on 2 cores); each table's own
    # conflicts are retried on their own.
    for i in range(0, len(present), VACUUMS_SIDE_BY_SIDE):
        side_by_side([lambda t=t: with_conflict_retries(lambda: delta_table(spark, config, t).vacuum(hours),
                                                          config.gold.conflict_retries, f"vacuum {t}")
                      for t in present[i:i + VACUUMS_SIDE_BY_SIDE]])
    return MaintenanceReport(optimized, {t: hours for t in present}, hours)


def maintain_lakehouse(spark: SparkSession, config: LakehouseConfig, retention_hours: int | None = None
                       ) -> MaintenanceReport:
    """The weekly maintenance: OPTIMIZE the gold tables, VACUUM every bronze, silver and gold table."""
    tables = [t for t in lakehouse_tables(spark, config) if t.split(".")[0] in VACUUMED_LAYERS]
    return run_maintenance(spark, config, tables, retention_hours)
