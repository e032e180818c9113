"""Streaming progress: logged as one line per micro-batch and kept in `ops.pipeline_progress`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.io.delta import save
from parkpal_lakehouse.names import PIPELINE_PROGRESS

PROGRESS_DDL = (
    "query_name STRING, run_id STRING, batch_id BIGINT, batch_timestamp TIMESTAMP, num_input_rows BIGINT, "
    "input_rows_per_second DOUBLE, processed_rows_per_second DOUBLE, batch_duration_ms BIGINT, "
    "state_dropped_duplicates BIGINT, dropped_by_watermark BIGINT, source_metrics STRING, recorded_at TIMESTAMP"
)


def progress_row(progress: dict[str, Any]) -> dict[str, Any]:
    """Flatten one StreamingQueryProgress (as a dict) into a `pipeline_progress` row."""
    operators = progress.get("stateOperators") or []
    sources = progress.get("sources") or []
    return {
        "query_name": progress.get("name"),
        "run_id": progress.get("runId"),
        "batch_id": progress.get("batchId"),
        "batch_timestamp": datetime.fromisoformat(progress["timestamp"].replace("Z", "+00:00")),
        "num_input_rows": progress.get("numInputRows", 0),
        "input_rows_per_second": float(progress.get("inputRowsPerSecond") or 0.0),
        "processed_rows_per_second": float(progress.get("processedRowsPerSecond") or 0.0),
        "batch_duration_ms": (progress.get("durationMs") or {}).get("triggerExecution"),
        "state_dropped_duplicates": sum(int((o.get("customMetrics") or {}).get("numDroppedDuplicateRows", 0))
                                  for o in operators),
        "dropped_by_watermark": sum(int(o.get("numRowsDroppedByWatermark", 0)) for o in operators),
        "source_metrics": json.dumps([{"end": s.get("endOffset"), "metrics": s.get("metrics")} for s in sources],
                                     default=str)[:4000],
        "recorded_at": datetime.now(UTC),
    }


def ran_a_batch(progress: dict[str, Any]) -> bool:
    """Whether a progress event reports a micro-batch that ran: one with new rows, or a stateful query's batch
    without any (Spark runs one when the watermark has moved: the sessions stream then closes the searches it
    passed and rewrites the zone status, seconds of work). An idle trigger's event has neither rows nor the
    batch's own phase (`addBatch`)."""
    return progress.get("numInputRows", 0) > 0 or "addBatch" in (progress.get("durationMs") or {})


class ProgressRecorder:
    """Logs each new micro-batch of running queries as it is seen and appends their rows to
    `ops.pipeline_progress`: at most once every `append_every_s` while a run goes on, and when it ends
    (`append_pending`). Appending at every progress check that saw a batch made a continuous stream write
    thousands of tiny commits a day to the table (a check every 5 s); an availableNow run now appends once,
    at its end, instead of once per stage (~0.25 s a commit; issue 21)."""

    def __init__(self, spark: SparkSession, config: LakehouseConfig, log=print, append_every_s: float = 60.0):
        self.spark, self.config, self.log = spark, config, log
        self.append_every_s = append_every_s
        self._seen: set[tuple[str, int]] = set()
        self.rows: list[dict[str, Any]] = []
        self._so_far: dict[str, int] = {}  # rows read per query in this run
        self._appended = 0  # self.rows[:_appended] are in the table
        self._appended_at = time.monotonic()

    def record(self, queries: list[StreamingQuery]) -> None:
        """Log the queries' new micro-batches; append what is pending if the last append is old enough."""
        self.collect(queries)
        if len(self.rows) > self._appended and time.monotonic() - self._appended_at >= self.append_every_s:
            self.append_pending()

    def append_pending(self) -> None:
        """Append the rows logged since the last append (kept pending if the append fails)."""
        pending = self.rows[self._appended:]
        if pending:
            df = self.spark.createDataFrame(pending, PROGRESS_DDL)
            save(df.write.format("delta").mode("append"), self.spark, self.config, PIPELINE_PROGRESS)
        self._appended, self._appended_at = len(self.rows), time.monotonic()

    def collect(self, queries: list[StreamingQuery]) -> None:
        """Log the queries' micro-batches not seen before and keep their rows (pending an append)."""
        for query in queries:
            for progress in query.recentProgress:
                data = json.loads(progress.json) if hasattr(progress, "json") else progress
                key = (data.get("runId"), data.get("batchId"))
                if key in self._seen or not ran_a_batch(data):
                    continue
                self._seen.add(key)
                row = progress_row(data)
                self.rows.append(row)
                name = row["query_name"]
                so_far = self._so_far[name] = self._so_far.get(name, 0) + row["num_input_rows"]
                self.log(f"{row['query_name']} batch {row['batch_id']}: {row['num_input_rows']:,} rows "
                         f"({so_far:,} so far), "
                         f"{row['processed_rows_per_second']:,.0f} rows/s, {row['batch_duration_ms']} ms"
                         + (f", {row['dropped_by_watermark']} DROPPED BY WATERMARK" if row["dropped_by_watermark"]
                            else ""))
