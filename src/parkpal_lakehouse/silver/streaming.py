"""The silver stage of the streaming job: bronze -> parsed, checked, deduplicated events in silver, and
every record that fails the contract or a `drop` expectation in `silver.quarantine` with its reason.

Each micro-batch is written exactly once (`append_once`): a replayed batch after a failure rewrites nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.frames import kept_and_counted
from parkpal_lakehouse.io.delta import read_stream, read_table
from parkpal_lakehouse.io.writers import append_once, side_by_side, with_trigger
from parkpal_lakehouse.names import QUALITY_RESULTS, QUARANTINE, bronze_table, query_name, silver_table
from parkpal_lakehouse.quality.expectations import SILVER_SUITES
from parkpal_lakehouse.quality.runner import QualityGateFailed, check_quality, results_frame
from parkpal_lakehouse.silver.parse import parsed_events, quarantined_records, silver_events, unseen_events
from parkpal_lakehouse.silver.reference import zones_reference

log = logging.getLogger(__name__)


def silver_batch_writer(config: LakehouseConfig, hub: Hub, name: str) -> Callable[[DataFrame, int], None]:
    table, suite = silver_table(hub), SILVER_SUITES[silver_table(hub)]

    def write(batch: DataFrame, batch_id: int) -> None:
        batch = batch.persist()
        try:
            # Duplicates out first (within the batch and against silver), then the expectations. Computed
            # once, raw body included: the expectations (count, pandas), the write and the quarantine of rows
            # a `drop` expectation removed all read it, and the lookup in silver runs once. Checkpointed, not
            # cached: a write to silver makes Spark refresh every cached plan that reads silver (the data
            # source's `recacheByPlan`), which planned the lookup again against the version just written
            # (four Spark jobs a micro-batch) and would have computed it again there if read after the write
            # (issue 21, docs/ingestion.md).
            valid = batch.filter(F.size("failed_rules") == 0)
            unique = unseen_events(valid, read_table(batch.sparkSession, config, table), hub)
            quarantined, results, unique_rows = quarantined_records(batch), [], None
            if config.stream.quality_checks:
                # Counted by the checkpoint's own job: the expectations need the number, not a count job.
                unique, unique_rows = kept_and_counted(unique)
                outcome = check_quality(unique, table, suite, batch_id=batch_id, rows=unique_rows)
                if outcome.failed:  # before any write: the batch replays once the cause is fixed
                    raise QualityGateFailed(f"{name} batch {batch_id}: expectation(s) {', '.join(outcome.failed)} "
                                            f"failed with policy fail; nothing of this batch was written")
                for warning in outcome.warnings:
                    log.warning("%s batch %s: expectation %s failed (warn)", name, batch_id, warning)
                kept, results = outcome.kept, outcome.results
                dropped = outcome.dropped.withColumn("failed_rules", F.col("quality_rules"))
                quarantined = quarantined.unionByName(quarantined_records(dropped))
            else:  # nothing needs the number: no observation (~30 ms a micro-batch)
                kept = unique.localCheckpoint()
            # A table the batch has nothing for gets no commit: each hub's query made an empty one in the
            # quarantine every micro-batch without a broken record (and in silver for a batch of repeats), each
            # with Delta's idempotency check, and gold took it for a change (issue 21). A replay decides the same.
            writes = []
            if unique_rows != 0:  # not counted without the checks: written as before
                writes.append(lambda: append_once(silver_events(kept), config, table, name, batch_id,
                                                  partition_by=("event_date",)))
            if not quarantined.isEmpty():
                writes.append(lambda: append_once(quarantined, config, QUARANTINE, name, batch_id,
                                                  partition_by=("quarantine_date",)))
            if results:
                writes.append(lambda: append_once(results_frame(batch.sparkSession, results), config,
                                                  QUALITY_RESULTS, name, batch_id))
            side_by_side(writes)
        finally:
            batch.unpersist()

    return write


def parsed_bronze_stream(spark: SparkSession, config: LakehouseConfig, hub: Hub) -> DataFrame:
    """Bronze as a stream, parsed: the silver query's plan. Building it is driver work only (~5,000 Py4J
    calls, 0.8-2.5 s a hub), so `run_ingestion` builds it while bronze runs (issue 21)."""
    # The same backpressure as the source: at most this many bronze files per batch.
    limit = config.source.max_files_per_trigger
    bronze = read_stream(spark, config, bronze_table(hub), {"maxFilesPerTrigger": str(limit)} if limit else {})
    return parsed_events(bronze, hub, zones_reference(spark, config), config.stream.max_future_skew_minutes,
                         config.rules.geofence_tolerance_m, config.stream.max_event_age_days)


def start_silver(spark: SparkSession, config: LakehouseConfig, hub: Hub, parsed: DataFrame | None = None
                 ) -> StreamingQuery:
    """Start the hub's silver query on `parsed` (`parsed_bronze_stream`, built now if not given)."""
    name = query_name("silver", hub)
    parsed = parsed if parsed is not None else parsed_bronze_stream(spark, config, hub)
    # No stateful dedupe with a watermark: it dropped valid late events silently. Each batch is
    # deduplicated against silver itself in `silver_batch_writer`.
    writer = parsed.writeStream.foreachBatch(silver_batch_writer(config, hub, name))
    return with_trigger(writer, config, name).start()
