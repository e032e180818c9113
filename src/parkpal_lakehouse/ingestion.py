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
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import StructType
from pyspark.util import inheritable_thread_target

from parkpal_lakehouse.bronze import bronze_records
from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError, ParkPalError
from parkpal_lakehouse.io.delta import CHANGE_FEED, TableSpec, create_tables_if_missing, table_exists
from parkpal_lakehouse.io.landing import audit_landing, check_checkpoints_belong_here
from parkpal_lakehouse.io.progress import PROGRESS_DDL, ProgressRecorder
from parkpal_lakehouse.io.sources import RAW_SCHEMA, raw_stream
from parkpal_lakehouse.io.writers import append_once, side_by_side, with_trigger
from parkpal_lakehouse.names import (
    PIPELINE_PROGRESS,
    QUALITY_RESULTS,
    QUARANTINE,
    bronze_table,
    query_name,
    silver_table,
)
from parkpal_lakehouse.quality.runner import QUALITY_RESULTS_DDL, QualityGateFailed
from parkpal_lakehouse.sessions.store import SESSION_TABLES
from parkpal_lakehouse.sessions.streaming import session_rows_stream, start_sessions
from parkpal_lakehouse.silver.parse import parsed_events, quarantined_records, silver_events, silver_table_properties
from parkpal_lakehouse.silver.reference import zones_reference
from parkpal_lakehouse.silver.streaming import parsed_bronze_stream, start_silver

log = logging.getLogger(__name__)


def start_bronze(spark: SparkSession, config: LakehouseConfig, hub: Hub, dbutils: object | None = None
                 ) -> StreamingQuery:
    name, table = query_name("bronze", hub), bronze_table(hub)
    records = bronze_records(raw_stream(spark, config, hub, dbutils), hub)

    def write(batch: DataFrame, batch_id: int) -> None:
        append_once(batch, config, table, name, batch_id, partition_by=("ingest_date",))

    return with_trigger(records.writeStream.foreachBatch(write), config, name).start()


# A hub's bronze, silver and quarantine schemas, as its transforms produce them: they depend on this code
# and the contract, never on the data, so the parse's plan (~5,000 Column calls over Py4J, 0.8-2.5 s a hub
# in a warm session) is built for them once per process, not again for every new root (issue 21).
_HUB_SCHEMAS: dict[Hub, tuple[StructType, StructType, StructType]] = {}


def hub_table_schemas(spark: SparkSession, hub: Hub, zones: DataFrame) -> tuple[StructType, StructType, StructType]:
    """(bronze, silver, quarantine) schemas of `hub`'s tables; `zones` as `zones_reference` gives it."""
    if hub not in _HUB_SCHEMAS:
        bronze = bronze_records(spark.createDataFrame([], RAW_SCHEMA), hub)
        parsed = parsed_events(bronze.drop("ingest_date"), hub, zones)
        _HUB_SCHEMAS[hub] = (bronze.schema, silver_events(parsed).schema, quarantined_records(parsed).schema)
    return _HUB_SCHEMAS[hub]


def prepare_tables(spark: SparkSession, config: LakehouseConfig, hubs: Sequence[Hub], sessions: bool = False) -> None:
    """Create every table the queries write, with the schemas the transforms produce, before they start; with
    `sessions`, the sessions stream's too. All side by side: ~0.3 s of driver work each (issue 21)."""
    zones = zones_reference(spark, config)  # read on every root: no reference data fails here, before any query
    tables: list[TableSpec] = []
    for hub in hubs:
        if all(table_exists(spark, config, t) for t in (bronze_table(hub), silver_table(hub), QUARANTINE)):
            continue  # a resumed root
        bronze, silver, quarantine = hub_table_schemas(spark, hub, zones)
        tables += [(bronze_table(hub), bronze, ("ingest_date",), CHANGE_FEED),  # the balance counts what it appends
                   (silver_table(hub), silver, ("event_date",), silver_table_properties(silver)),
                   (QUARANTINE, quarantine, ("quarantine_date",))]
    tables += [(QUALITY_RESULTS, QUALITY_RESULTS_DDL, ()), (PIPELINE_PROGRESS, PROGRESS_DDL, ())]
    if sessions:
        tables += SESSION_TABLES
    create_tables_if_missing(spark, config, tables)


@dataclass
class IngestionReport:
    batches: int
    rows_in: dict[str, int]
    stopped_by_signal: bool = False


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
    prepare_tables(spark, config, hubs, sessions=sessions)  # fails fast without reference data; no create races later
    recorder = ProgressRecorder(spark, config, progress)
    # Silver's and the sessions query's plans are driver work only (the parse: ~5,000 Py4J calls a hub; the
    # sessions' reads of zones, vehicles and its state's layout): built on another thread while the stage
    # before runs, instead of one after the other once it has finished (issue 21).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stream-plans") as planner:
        plans = {h: planner.submit(inheritable_thread_target(spark)(parsed_bronze_stream), spark, config, h)
                 for h in hubs}  # inheritable: the caller's local properties and tags
        phases = [[lambda h=h: start_bronze(spark, config, h, dbutils) for h in hubs],
                  [lambda h=h: start_silver(spark, config, h, plans[h].result()) for h in hubs]]
        if sessions:
            rows = planner.submit(inheritable_thread_target(spark)(session_rows_stream), spark, config)
            phases.append([lambda: start_sessions(spark, config, rows.result())])
        if config.stream.continuous:
            phases = [[start for phase in phases for start in phase]]
        _run_phases(phases, stop, recorder, poll_seconds)
    if config.source.kind == "landing":
        for warning in audit_landing(spark, config, hubs).warnings():
            log.warning("landing: %s", warning)
            progress(f"WARNING landing: {warning}")
    rows: dict[str, int] = {}
    for row in recorder.rows:
        rows[row["query_name"]] = rows.get(row["query_name"], 0) + row["num_input_rows"]
    return IngestionReport(len(recorder.rows), rows, stopped_by_signal=stop.is_set())


def _run_phases(phases: list[list[Callable[[], StreamingQuery]]], stop: threading.Event,
                recorder: ProgressRecorder, poll_seconds: float) -> None:
    """Start each phase's queries, wait for them all to end (availableNow) or for `stop`, then the next.
    A phase's queries start side by side (each start is driver work: its plan, checkpoint and query thread,
    0.05-0.35 s); one that fails to start stops the others (none is left running in the driver).
    Every micro-batch is logged as it is seen; its progress row is in `ops.pipeline_progress` when the run
    ends, failed or not (and within about a minute while a continuous run goes on)."""
    try:
        for phase in phases:
            queries: list[StreamingQuery] = []
            try:
                _start_side_by_side(phase, queries)
                while any(q.isActive for q in queries) and not stop.is_set():
                    for q in queries:
                        with contextlib.suppress(StreamingQueryException):  # translated just below
                            q.awaitTermination(poll_seconds / max(1, len(queries)))
                        _raise_if_failed(q)
                    recorder.record(queries)
            finally:
                _stop_gracefully(queries)
                recorder.collect(queries)  # appended below, after any error of the phase is raised
            for q in queries:
                _raise_if_failed(q)
            if stop.is_set():
                break
    except BaseException:
        try:
            recorder.append_pending()
        except Exception as exc:  # the run's own error is the one to report; progress rows are monitoring
            log.warning("progress rows not appended after the run failed: %s", exc)
        raise
    recorder.append_pending()


def _start_side_by_side(starts: list[Callable[[], StreamingQuery]], queries: list[StreamingQuery]) -> None:
    """Call `starts` side by side and append the queries they started to `queries`, in `starts`' order; once
    all have returned, raise the first failure (the queries that did start are in `queries` then too, for the
    caller to stop)."""
    started: list[StreamingQuery | None] = [None] * len(starts)

    def start(i: int) -> None:
        started[i] = starts[i]()

    try:
        side_by_side([functools.partial(start, i) for i in range(len(starts))])
    finally:
        queries.extend(q for q in started if q is not None)


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

