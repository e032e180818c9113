"""Streaming sources, all producing the same raw shape, one stream per hub.

`raw_stream` returns columns: `body` (string, exactly as received), `source`, `source_file`,
`kafka_topic`, `kafka_partition`, `kafka_offset`, `enqueued_at` (when the hub accepted the message:
deterministic on replay, the dedupe watermark's clock) and `received_at` (wall clock when it reached
us, for latency). Where the events come from is
configuration (`SourceConfig.kind`), resolved here and nowhere else:

- `landing`: JSON Lines files under `<root>/landing/<hub>/YYYY/MM/DD/HH/<mm>-*.jsonl` (like Event Hubs
  Capture); `enqueued_at` is the arrival window's end (`<mm>` + `landing_window_minutes`), as the
  contract promises (the file's modification time for files not laid out that way); `received_at` is
  the modification time.
- `kafka`: a Kafka broker, one topic per hub; both times are the record timestamp.
- `eventhubs`: Event Hubs through its Kafka endpoint (`<namespace>.servicebus.windows.net:9093`,
  SASL_SSL/PLAIN, user `$ConnectionString`, password from a secret reference).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig, SourceConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.runtime.session import running_on_databricks

# The shape every source produces (bronze adds its own columns to it).
RAW_SCHEMA = ("body STRING, source STRING, source_file STRING, kafka_topic STRING, kafka_partition INT, "
              "kafka_offset BIGINT, enqueued_at TIMESTAMP, received_at TIMESTAMP")
_CAPTURE_PATH = r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/(\d{2})-[^/]*$"


def capture_window_start(path):
    """`.../2026/11/02/08/15-00003.jsonl` -> 2026-11-02 08:15 UTC; null when the path has no such tail."""
    parts = [F.regexp_extract(path, _CAPTURE_PATH, i) for i in range(1, 6)]
    text = F.concat(parts[0], F.lit("-"), parts[1], F.lit("-"), parts[2], F.lit(" "), parts[3], F.lit(":"), parts[4])
    return F.try_to_timestamp(text, F.lit("yyyy-MM-dd HH:mm"))


def capture_window_end(path, window_minutes: int):
    """The arrival window's end: its start from the path plus the window's length."""
    return capture_window_start(path) + F.expr(f"INTERVAL {int(window_minutes)} MINUTES")


def raw_stream(spark: SparkSession, config: LakehouseConfig, hub: Hub, dbutils: object | None = None) -> DataFrame:
    source = config.source
    if source.kind == "landing":
        return _landing_stream(spark, config, hub)
    return _kafka_stream(spark, kafka_options(source, hub, dbutils), source.kind)


def _landing_stream(spark: SparkSession, config: LakehouseConfig, hub: Hub) -> DataFrame:
    folder = config.landing_path(hub.value)
    if "://" not in folder:  # a hub with nothing landed yet is normal; the file source needs the folder
        Path(folder).mkdir(parents=True, exist_ok=True)
    from parkpal_lakehouse.io.landing import LANDING_GLOB

    reader = (
        spark.readStream.format("text")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", LANDING_GLOB)
        # Only LF ends a line (CRLF leaves a CR that JSON reads as whitespace): a lone CR inside a line
        # must not split one message into two records.
        .option("lineSep", "\n")
    )
    if config.source.max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", str(config.source.max_files_per_trigger))
    return reader.load(folder).select(
        F.col("value").alias("body"),
        F.lit("landing").alias("source"),
        F.col("_metadata.file_path").alias("source_file"),
        F.lit(None).cast("string").alias("kafka_topic"),
        F.lit(None).cast("int").alias("kafka_partition"),
        F.lit(None).cast("long").alias("kafka_offset"),
        F.coalesce(capture_window_end(F.col("_metadata.file_path"), config.source.landing_window_minutes),
                   F.col("_metadata.file_modification_time")).alias("enqueued_at"),
        F.col("_metadata.file_modification_time").alias("received_at"),
    )


def kafka_options(source: SourceConfig, hub: Hub, dbutils: object | None = None) -> dict[str, str]:
    """Options for Spark's Kafka source; for Event Hubs, its Kafka endpoint with SASL_SSL."""
    options = {
        "subscribe": hub.value,
        "startingOffsets": source.starting_offsets,
        "failOnDataLoss": str(source.fail_on_data_loss).lower(),
    }
    if source.max_offsets_per_trigger:
        options["maxOffsetsPerTrigger"] = str(source.max_offsets_per_trigger)
    if source.kind == "kafka":
        if not source.bootstrap_servers:
            raise ConfigError("the kafka source needs bootstrap servers (--bootstrap-servers host:port)")
        options["kafka.bootstrap.servers"] = source.bootstrap_servers
        return options
    if not source.eventhubs_namespace or source.connection_string is None:
        raise ConfigError("the eventhubs source needs a namespace and a connection-string secret reference")
    # On Databricks the Kafka client is shaded; the login module class carries the prefix.
    prefix = "kafkashaded." if running_on_databricks() else ""
    password = source.connection_string.resolve(dbutils).replace('"', '\\"')
    options.update({
        "kafka.bootstrap.servers": f"{source.eventhubs_namespace}.servicebus.windows.net:9093",
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": (
            f'{prefix}org.apache.kafka.common.security.plain.PlainLoginModule required '
            f'username="$ConnectionString" password="{password}";'
        ),
        "kafka.request.timeout.ms": "60000",
        "kafka.session.timeout.ms": "30000",
        "kafka.group.id": source.consumer_group,
    })
    return options


def check_reachable(source: SourceConfig, timeout_s: float = 5.0) -> None:
    """Fail in one line before Spark starts retrying an unreachable broker forever."""
    if source.kind != "kafka":
        return
    import socket

    if not source.bootstrap_servers:
        raise ConfigError("--source kafka needs --bootstrap-servers host:port")
    errors = []
    for server in source.bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "localhost", int(port)), timeout=timeout_s):
                return
        except (OSError, ValueError) as exc:
            errors.append(f"{server}: {exc}")
    raise ConfigError(f"cannot reach Kafka ({'; '.join(errors)})")


def _kafka_stream(spark: SparkSession, options: dict[str, str], kind: str) -> DataFrame:
    reader = spark.readStream.format("kafka")
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load().select(
        F.col("value").cast("string").alias("body"),
        F.lit(kind).alias("source"),
        F.lit(None).cast("string").alias("source_file"),
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("enqueued_at"),
        F.col("timestamp").alias("received_at"),
    )
