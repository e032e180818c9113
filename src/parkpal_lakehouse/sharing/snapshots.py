"""A Delta table's snapshot as the sharing protocol describes it: version, metadata and data files.

Read through Delta itself (`DeltaTable.detail()` / `.history()`, time travel and `inputFiles`), never by
parsing `_delta_log` here: the files listed are exactly those Delta reads for that version.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.errors import ParkPalError

log = logging.getLogger(__name__)


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
    row = DeltaTable.forPath(spark, path).history(1).select("version").first()
    if row is None:
        raise SnapshotError("the table has no Delta history")
    return int(row["version"])


def version_at(spark: SparkSession, path: str, timestamp: datetime) -> int:
    """The newest version committed at or before `timestamp` (an aware datetime, compared as a typed
    value: nothing from a request is ever part of a SQL string)."""
    if timestamp.tzinfo is None:
        raise SnapshotError("a timestamp needs a zone (Z or an offset)")
    history = DeltaTable.forPath(spark, path).history().select("version", "timestamp")
    at = history.where(F.col("timestamp") <= F.lit(timestamp.astimezone(UTC))).orderBy(F.desc("version")).first()
    if at is None:
        raise SnapshotError("no version of the table at or before that timestamp")
    return int(at["version"])


def _check_version(version: int | None) -> None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise SnapshotError("version must be a non-negative integer")


def read_snapshot(spark: SparkSession, path: str, version: int | None = None,
                  timestamp: datetime | None = None) -> Snapshot:
    """The snapshot at `version`, or at the newest version at or before `timestamp`, or the latest.

    Both arguments are typed values: the server parses requests into them, and they reach Delta as
    time-travel options, never as SQL text."""
    _check_version(version)
    detail = DeltaTable.forPath(spark, path).detail().first()
    if int(detail["minReaderVersion"]) > 1:
        raise SnapshotError(f"the table needs Delta reader version {detail['minReaderVersion']} "
                            "(deletion vectors or column mapping); publish it without them")
    if timestamp is not None:
        version = version_at(spark, path, timestamp)
    if version is None:
        version = table_version(spark, path)
    try:
        df = spark.read.format("delta").option("versionAsOf", version).load(path)
        uris = sorted(df.inputFiles())
    except Exception:  # a version that does not exist (or was vacuumed); Spark's text stays in our log
        log.info("version %s of %s cannot be read", version, path, exc_info=True)
        raise SnapshotError(f"version {version} of the table does not exist or was vacuumed") from None
    partition_columns = tuple(detail["partitionColumns"] or ())
    files = []
    for uri in uris:
        local = unquote(urlparse(uri).path)
        values = {}
        for segment in local.split("/"):
            key, eq, value = segment.partition("=")
            if eq and key in partition_columns:
                values[key] = unquote(value)
        files.append(DataFile(local, hashlib.md5(local.encode()).hexdigest(), os.path.getsize(local), values))
    return Snapshot(version, str(detail["id"]), df.schema.json(), partition_columns,
                    dict(detail["properties"] or {}), tuple(files))


class SnapshotCache:
    """Snapshots by table and version, for a server that answers the same tables again and again.

    A Delta version never changes once committed, so only the version a request names is resolved each time
    (the newest, or the one at a timestamp: one look at the table's history); its files, schema and protocol
    check are read once (`read_snapshot`: three Spark queries). A client reading a table asks twice (its
    metadata, then its query), and a BI tool refreshing an unchanged share asks for versions it has read. A
    new commit (data, schema or protocol) is a new version, so it is read and checked afresh. A cached
    version whose files are gone (vacuumed) is read again, which refuses it as before. At most `capacity`
    snapshots are kept, the least recently asked for dropped first."""

    def __init__(self, spark: SparkSession, capacity: int = 64) -> None:
        self.spark, self.capacity = spark, capacity
        self._kept: OrderedDict[tuple[str, int], Snapshot] = OrderedDict()
        self._lock = threading.Lock()  # the server answers requests on several threads

    def get(self, path: str, version: int | None = None, timestamp: datetime | None = None) -> Snapshot:
        _check_version(version)
        if timestamp is not None:
            version = version_at(self.spark, path, timestamp)
        elif version is None:
            version = table_version(self.spark, path)
        key = (path, version)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
        if kept is not None and all(os.path.exists(f.path) for f in kept.files):
            return kept
        snapshot = read_snapshot(self.spark, path, version)
        with self._lock:
            self._kept[key] = snapshot
            self._kept.move_to_end(key)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return snapshot
