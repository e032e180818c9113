"""A Delta table's snapshot as the sharing protocol describes it: version, metadata and data files.

Read through Delta itself (DESCRIBE DETAIL, DESCRIBE HISTORY, time travel and `inputFiles`), never by
parsing `_delta_log` here: the files listed are exactly those Delta reads for that version.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from pyspark.sql import SparkSession

from parkpal_lakehouse.errors import ParkPalError


class SnapshotError(ParkPalError):
    """The table (or the version asked for) cannot be served."""


@dataclass(frozen=True)
class DataFile:
    path: str  # local path of the parquet file
    id: str
    size: int
    partition_values: dict[str, str]


@dataclass(frozen=True)
class Snapshot:
    version: int
    table_id: str
    schema_json: str
    partition_columns: tuple[str, ...]
    configuration: dict[str, str]
    files: tuple[DataFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def table_version(spark: SparkSession, path: str) -> int:
    row = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()
    if row is None:
        raise SnapshotError(f"{path} has no Delta history")
    return int(row["version"])


def read_snapshot(spark: SparkSession, path: str, version: int | None = None,
                  timestamp: str | None = None) -> Snapshot:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
    if int(detail["minReaderVersion"]) > 1:
        raise SnapshotError(f"{path} needs Delta reader version {detail['minReaderVersion']} "
                            "(deletion vectors or column mapping); publish it without them")
    reader = spark.read.format("delta")
    if timestamp is not None:
        at = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").where(f"timestamp <= '{timestamp}'").first()
        if at is None:
            raise SnapshotError(f"no version of the table at or before {timestamp}")
        version = int(at["version"])
    if version is None:
        version = table_version(spark, path)
    try:
        df = reader.option("versionAsOf", version).load(path)
    except Exception as exc:  # a version that does not exist (or was vacuumed)
        raise SnapshotError(f"version {version} cannot be read: {str(exc).splitlines()[0]}") from None
    partition_columns = tuple(detail["partitionColumns"] or ())
    files = []
    for uri in sorted(df.inputFiles()):
        local = unquote(urlparse(uri).path)
        values = {}
        for segment in local.split("/"):
            key, eq, value = segment.partition("=")
            if eq and key in partition_columns:
                values[key] = unquote(value)
        files.append(DataFile(local, hashlib.md5(local.encode()).hexdigest(), os.path.getsize(local), values))
    return Snapshot(version, str(detail["id"]), df.schema.json(), partition_columns,
                    dict(detail["properties"] or {}), tuple(files))
