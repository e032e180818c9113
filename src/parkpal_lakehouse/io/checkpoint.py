"""What a streaming query's checkpoint records about a micro-batch, read without a Spark job where it can be.

Spark writes a micro-batch's entry in the query's offset log (`<checkpoint>/offsets/<batch id>`) before
the batch runs: a version line (`v1`), the batch's metadata as JSON (`batchWatermarkMs`,
`batchTimestampMs`, the session's stream settings), then one line per source offset. A `foreachBatch`
function runs inside the batch, so its own entry is there to read.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession


def offset_log_entry(checkpoint: str, batch_id: int) -> str:
    """The path of micro-batch `batch_id`'s entry in the offset log of the query checkpointed at `checkpoint`."""
    return f"{checkpoint.rstrip('/')}/offsets/{batch_id}"


def _read_lines(spark: SparkSession, path: str) -> list[str] | None:
    if ":" not in path.split("/", 1)[0]:  # a local path (a local root's checkpoints): no Spark job
        return Path(path).read_text().splitlines() if Path(path).is_file() else None
    # A URI (abfss://, dbfs:/, file:/): Spark's own file systems, one small job.
    try:
        return [row.value for row in spark.read.text(path).collect()]
    except AnalysisException:  # PATH_NOT_FOUND: not known; the caller's fallback decides
        return None


def batch_watermark_ms(spark: SparkSession, checkpoint: str, batch_id: int) -> int | None:
    """The event-time watermark (epoch ms, 0 before any event) micro-batch `batch_id` runs with, from the
    query's offset log. None when the entry is missing or in a format this code does not know (another
    version line, no `batchWatermarkMs`): the caller then falls back instead of failing the batch."""
    lines = _read_lines(spark, offset_log_entry(checkpoint, batch_id))
    if not lines or len(lines) < 2 or lines[0] != "v1":
        return None
    try:
        value = json.loads(lines[1])["batchWatermarkMs"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
