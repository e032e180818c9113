"""Ingestion: Event Hubs (or Kafka, or landing files) -> bronze -> silver, exactly once per table.

Per hub two queries, each with its own checkpoint under `<root>/checkpoints/`:
- `bronze_<hub>`: source stream -> `bronze.<hub>_raw` (raw body + metadata).
- `silver_<hub>`: bronze Delta stream -> parse + validate -> `foreachBatch`: dedupe (within the batch
  and against silver's rows of the same event dates: no watermark, so no valid event is ever dropped
  for being late), quality expectations, then `silver.<hub>` and `silver.quarantine` (and the quality
  results), every write idempotent on (query name, batch id).
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from parkpal_lakehouse.bronze import bronze_records, bronze_table
from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError, ParkPalError
from parkpal_lakehouse.io.landing import audit_landing, check_checkpoints_belong_here
from parkpal_lakehouse.io.progress import PROGRESS_DDL, ProgressRecorder
from parkpal_lakehouse.io.sources import RAW_SCHEMA, raw_stream
from parkpal_lakehouse.io.tables import create_table_if_missing, read_stream, read_table
from parkpal_lakehouse.io.writers import append_once, with_trigger
from parkpal_lakehouse.quality.expectations import SILVER_SUITES
from parkpal_lakehouse.quality.runner import QUALITY_RESULTS_DDL, QualityGateFailed, check_quality, results_frame
from parkpal_lakehouse.sessions.store import prepare_session_tables
from parkpal_lakehouse.sessions.streaming import start_sessions
from parkpal_lakehouse.silver.parse import parsed_events, quarantined_records, silver_events, unseen_events
from parkpal_lakehouse.silver.tables import QUARANTINE, silver_table, zones_reference

log = logging.getLogger(__name__)


def query_name(layer: str, hub: Hub) -> str:
    return f"{layer}_{hub.value.replace('-', '_')}"


def start_bronze(spark: SparkSession, config: LakehouseConfig, hub: Hub, dbutils: object | None = None
                 ) -> StreamingQuery:
    name, table = query_name("bronze", hub), bronze_table(hub)
    records = bronze_records(raw_stream(spark, config, hub, dbutils), hub)

    def write(batch: DataFrame, batch_id: int) -> None:
        append_once(batch, config, table, name, batch_id, partition_by=("ingest_date",))

    return with_trigger(records.writeStream.foreachBatch(write), config, name).start()


def prepare_tables(spark: SparkSession, config: LakehouseConfig, hubs: Sequence[Hub]) -> None:
    """Create every table the queries write, with the schemas the transforms produce, before they start."""
    zones = zones_reference(spark, config)
    for hub in hubs:
        empty_raw = spark.createDataFrame([], RAW_SCHEMA)
        bronze = bronze_records(empty_raw, hub)
        create_table_if_missing(spark, config, bronze_table(hub), bronze.schema, ("ingest_date",))
        parsed = parsed_events(bronze.drop("ingest_date"), hub, zones)
        create_table_if_missing(spark, config, silver_table(hub), silver_events(parsed).schema, ("event_date",))
        create_table_if_missing(spark, config, QUARANTINE, quarantined_records(parsed).schema, ("quarantine_date",))
    create_table_if_missing(spark, config, "ops.quality_results", QUALITY_RESULTS_DDL)
    create_table_if_missing(spark, config, "ops.pipeline_progress", PROGRESS_DDL)


def silver_batch_writer(config: LakehouseConfig, hub: Hub, name: str) -> Callable[[DataFrame, int], None]:
    table, suite = silver_table(hub), SILVER_SUITES[silver_table(hub)]

    def write(batch: DataFrame, batch_id: int) -> None:
        batch = batch.persist()
        try:
            # Duplicates out first (within the batch and against silver), then the expectations.
            events = unseen_events(silver_events(batch), read_table(batch.sparkSession, config, table), hub)
            quarantined = quarantined_records(batch)
            results = []
            if config.stream.quality_checks:
                outcome = check_quality(events, table, suite, batch_id=batch_id)
                if outcome.failed:  # before any write: the batch replays once the cause is fixed
                    raise QualityGateFailed(f"{name} batch {batch_id}: expectation(s) {', '.join(outcome.failed)} "
                                            f"failed with policy fail; nothing of this batch was written")
                for warning in outcome.warnings:
                    log.warning("%s batch %s: expectation %s failed (warn)", name, batch_id, warning)
                events, results = outcome.kept, outcome.results
                quarantined = quarantined.unionByName(_quality_quarantine(outcome.dropped, batch))
            append_once(events, config, table, name, batch_id, partition_by=("event_date",))
            append_once(quarantined, config, QUARANTINE, name, batch_id, partition_by=("quarantine_date",))
            if results:
                append_once(results_frame(batch.sparkSession, results), config, "ops.quality_results", name,
                            batch_id)
        finally:
            batch.unpersist()

    return write


def _quality_quarantine(dropped: DataFrame, batch: DataFrame) -> DataFrame:
    """Rows a `drop` expectation removed, as quarantine records carrying their raw body."""
    raw = batch.select("record_id", "hub", "body", "source", "source_file", "kafka_topic", "kafka_partition",
                       "kafka_offset")
    reasons = dropped.select("record_id", "enqueued_at", "received_at", "ingested_at",
                             F.col("quality_rules").alias("failed_rules"))
    return quarantined_records(reasons.join(raw, "record_id"))


def start_silver(spark: SparkSession, config: LakehouseConfig, hub: Hub) -> StreamingQuery:
    name = query_name("silver", hub)
    # The same backpressure as the source: at most this many bronze files per batch.
    limit = config.source.max_files_per_trigger
    bronze = read_stream(spark, config, bronze_table(hub), {"maxFilesPerTrigger": str(limit)} if limit else {})
    parsed = parsed_events(bronze, hub, zones_reference(spark, config), config.stream.max_future_skew_minutes,
                           config.rules.geofence_tolerance_m, config.stream.max_event_age_days)
    # No stateful dedupe with a watermark: it dropped valid late events silently. Each batch is
    # deduplicated against silver itself in `silver_batch_writer`.
    writer = parsed.writeStream.foreachBatch(silver_batch_writer(config, hub, name))
    return with_trigger(writer, config, name).start()


@dataclass
class IngestionReport:
    batches: int
    rows_in: dict[str, int]
    stopped_by_signal: bool = False


def stop_on_signals(progress: Callable[[str], None] = print) -> threading.Event:
    """An event set by SIGTERM or SIGINT (a cancelled job, Ctrl-C): `run_ingestion(stop=...)` then ends
    the queries after their current micro-batch instead of dying mid-batch."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        progress(f"{signal.Signals(signum).name}: stopping the queries after their current batch")
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    return stop


def run_ingestion(spark: SparkSession, config: LakehouseConfig, hubs: Sequence[Hub],
                  stop: threading.Event | None = None, progress: Callable[[str], None] = print,
                  poll_seconds: float = 5.0, sessions: bool = False, dbutils: object | None = None
                  ) -> IngestionReport:
    """Run bronze and silver for `hubs` (and, with `sessions`, sessionization over all three silver
    tables): to the end of the input (availableNow, one stage after the other), or until `stop`."""
    if sessions and set(hubs) != set(Hub):
        raise ConfigError("sessionization reads all three hubs' silver tables: run it with every hub")
    stop = stop or threading.Event()
    if config.source.kind == "landing":
        check_checkpoints_belong_here(config)
    prepare_tables(spark, config, hubs)  # fails fast without reference data; no create races later
    if sessions:
        prepare_session_tables(spark, config)
    recorder = ProgressRecorder(spark, config, progress)
    phases = [[lambda h=h: start_bronze(spark, config, h, dbutils) for h in hubs],
              [lambda h=h: start_silver(spark, config, h) for h in hubs]]
    if sessions:
        phases.append([lambda: start_sessions(spark, config)])
    if config.stream.continuous:
        phases = [[start for phase in phases for start in phase]]
    for phase in phases:
        queries = [start() for start in phase]
        try:
            while any(q.isActive for q in queries) and not stop.is_set():
                for q in queries:
                    with contextlib.suppress(StreamingQueryException):  # translated just below
                        q.awaitTermination(poll_seconds / max(1, len(queries)))
                    _raise_if_failed(q)
                recorder.flush(recorder.collect(queries))
        finally:
            _stop_gracefully(queries)
            recorder.flush(recorder.collect(queries))
        for q in queries:
            _raise_if_failed(q)
        if stop.is_set():
            break
    if config.source.kind == "landing":
        for warning in audit_landing(spark, config, hubs).warnings():
            log.warning("landing: %s", warning)
            progress(f"WARNING landing: {warning}")
    rows: dict[str, int] = {}
    for row in recorder.rows:
        rows[row["query_name"]] = rows.get(row["query_name"], 0) + row["num_input_rows"]
    return IngestionReport(len(recorder.rows), rows, stopped_by_signal=stop.is_set())


def _stop_gracefully(queries: list[StreamingQuery], patience_s: float = 120.0) -> None:
    """Stop each query between micro-batches: let a running batch commit rather than interrupt it."""
    deadline = time.monotonic() + patience_s
    for q in queries:
        while q.isActive and q.status.get("isTriggerActive") and time.monotonic() < deadline:
            time.sleep(0.2)
        if q.isActive:
            q.stop()


def _raise_if_failed(query: StreamingQuery) -> None:
    error = query.exception()
    if error is None:
        return
    text = str(getattr(error, "desc", None) or error)
    gate = re.search(r"QualityGateFailed: (.+)", text)  # the Python exception's own line in the traceback
    if gate:
        raise QualityGateFailed(gate.group(1).strip())
    if "STREAMING_STATEFUL_OPERATOR_NOT_MATCH" in text and query.name.startswith("silver_"):
        raise ParkPalError(
            f"query {query.name}: its checkpoint was written by an older ParkPal (silver deduplicated with a "
            "watermark, which could drop late events); this version cannot resume it. Ingest into a fresh "
            "root (`parkpal demo --fresh`, or simulate/land again under a new --root)")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "unknown error")
    raise ParkPalError(f"query {query.name} stopped: {first[:400]} (stack trace in <root>/logs/spark-errors.log)")

