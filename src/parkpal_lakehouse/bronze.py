"""Bronze: every message exactly as received, plus where and when it came from. Nothing is parsed
away and nothing is dropped, not even a body that is not JSON.

One append-only table per hub (`names.bronze_table`: `bronze.activity_events_raw`, ...): the hubs
have different volumes, retention and consumers, and a per-hub table lets each silver query read only
its own hub. Tables are partitioned by `ingest_date`, the column silver reprocessing and retention filter on.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import Hub


def bronze_records(raw: DataFrame, hub: Hub) -> DataFrame:
    """One row per received message: a unique `record_id`, the raw body and its source metadata."""
    return raw.select(
        F.expr("uuid()").alias("record_id"),
        F.lit(hub.value).alias("hub"),
        "body",
        "source",
        "source_file",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "enqueued_at",
        "received_at",
        F.current_timestamp().alias("ingested_at"),
        F.current_date().alias("ingest_date"),
    )
