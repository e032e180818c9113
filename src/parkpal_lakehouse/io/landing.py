"""What the landing-file source does not tell by itself: files it will never read, files changed after
they were read, and a root that was moved under its checkpoints.

Spark's file source reads each file once, by its absolute path, and only names matching the glob.
Landing files are immutable JSON Lines (`*.jsonl`, any case), like Event Hubs Capture's. Anything else
is reported after each ingestion run (`LandingAudit.warnings`), never silently skipped:
- a file whose name does not end in `.jsonl` (e.g. `.json`) is not read: a warning names it;
- a file that changed after it was ingested (lines appended) is not read again: a warning names it
  (land new lines in a new file). "Changed" is modified after the bronze query's file source listed it:
  the source logs each file it reads with the modification time it saw, in the query's checkpoint
  (`files_read`), so the audit reads no table;
- a root copied or moved elsewhere would re-read every file (its checkpoints name the old paths): the
  run refuses to start (`check_checkpoints_belong_here`).
Hidden files (`.name`, `_name`) are files still being written and are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.names import bronze_table, query_name

# Hadoop glob: JSON Lines files whatever the case of their extension.
LANDING_GLOB = "*.[jJ][sS][oO][nN][lL]"
_ROOT_MARKER = "LAKEHOUSE_ROOT"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class LandingAudit:
    not_jsonl: list[str] = field(default_factory=list)
    changed_after_ingestion: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        lines = [f"{p}: not *.jsonl, so never ingested (landing files are JSON Lines named *.jsonl)"
                 for p in self.not_jsonl]
        lines += [f"{p}: changed after it was ingested; the new lines are not read (landing files are immutable: "
                  "land new lines in a new file)" for p in self.changed_after_ingestion]
        return lines


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts))


def _local_path(uri: str) -> str:
    return unquote(urlparse(uri).path)


def files_read(checkpoint: str | Path) -> dict[str, int] | None:
    """The files a streaming query's file source has read: local path -> the modification time (epoch ms)
    it saw when it listed them. Read from the source's own log in the query's checkpoint (`sources/0/<batch>`
    and `<batch>.compact`: a version line, then one JSON entry per file; a compact file repeats the batches
    before it). None when the log is in a format this code does not know (another version line, an entry
    without a path or a modification time): the caller then asks bronze instead of failing a finished run."""
    folder = Path(checkpoint) / "sources" / "0"
    logs = [p for p in folder.iterdir() if p.name.split(".")[0].isdigit()] if folder.is_dir() else []
    seen: dict[str, int] = {}
    for log in logs:  # hidden (.name.tmp, .name.crc) files are Spark's own, skipped by the digit test
        lines = log.read_text().splitlines()
        if not lines or lines[0] != "v1":
            return None
        try:
            seen.update((_local_path(e["path"]), int(e["timestamp"])) for e in map(json.loads, lines[1:]))
        except (ValueError, KeyError, TypeError):
            return None
    return seen


def _bronze_read_times(spark: SparkSession, config: LakehouseConfig, hub: Hub) -> dict[str, int]:
    """Local path -> when bronze last received a line of it (epoch ms), for a source log `files_read` cannot
    read: every bronze row of the hub is read."""
    rows = (read_table(spark, config, bronze_table(hub)).groupBy("source_file")
            .agg(F.max("received_at").alias("read_at")).collect())
    return {_local_path(r.source_file): (r.read_at.replace(tzinfo=UTC) - _EPOCH) // timedelta(milliseconds=1)
            for r in rows if r.source_file}


def audit_landing(spark: SparkSession, config: LakehouseConfig, hubs: Sequence[Hub]) -> LandingAudit:
    """Landing files the stream will not read, or not read whole; empty for cloud landing zones."""
    audit = LandingAudit()
    for hub in hubs:
        folder = config.landing_path(hub.value)
        if "://" in folder or not Path(folder).is_dir():
            continue
        files = _visible_files(Path(folder))
        audit.not_jsonl += [str(p) for p in files if not p.name.lower().endswith(".jsonl")]
        read = files_read(config.checkpoint_path(query_name("bronze", hub)))
        if read is None:
            read = _bronze_read_times(spark, config, hub) if table_exists(spark, config, bronze_table(hub)) else {}
        for p in files:
            seen = read.get(str(p))
            if seen is not None and p.stat().st_mtime_ns // 1_000_000 > seen:
                audit.changed_after_ingestion.append(str(p))
    return audit


def check_checkpoints_belong_here(config: LakehouseConfig) -> None:
    """Refuse a local root whose checkpoints were written under another path (copied or moved): its
    file-source checkpoints name every landing file by the old absolute path, so all would be read again."""
    checkpoints = Path(config.checkpoint_path("x")).parent
    if "://" in str(checkpoints):
        return
    root = str(Path(config.storage_root).resolve())
    marker = checkpoints / _ROOT_MARKER
    if marker.is_file():
        recorded = marker.read_text().strip()
        if recorded != root:
            raise ConfigError(
                f"this lakehouse was moved or copied from {recorded} to {root}: its stream checkpoints name "
                "the landing files by their old paths, so every file would be ingested again. Run it where it "
                f"was, or start afresh without its checkpoints (rm -r {checkpoints}) and a new bronze")
        return
    checkpoints.mkdir(parents=True, exist_ok=True)
    marker.write_text(root + "\n")
