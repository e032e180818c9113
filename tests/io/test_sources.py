from datetime import datetime

import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.config import SecretRef, SourceConfig
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.io.sources import capture_window_start, check_reachable, kafka_options

CONN = "Endpoint=sb://parkpal-prod.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=k"


def _eventhubs(**kw) -> SourceConfig:
    return SourceConfig(kind="eventhubs", eventhubs_namespace="parkpal-prod",
                        connection_string=SecretRef("parkpal", "eventhubs-listen"), consumer_group="databricks", **kw)


def test_event_hubs_kafka_endpoint_options(monkeypatch):
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    monkeypatch.setenv("PARKPAL_SECRET_PARKPAL_EVENTHUBS_LISTEN", CONN)
    options = kafka_options(_eventhubs(max_offsets_per_trigger=200_000, fail_on_data_loss=False), Hub.GATE)
    assert options["kafka.bootstrap.servers"] == "parkpal-prod.servicebus.windows.net:9093"
    assert options["kafka.security.protocol"] == "SASL_SSL" and options["kafka.sasl.mechanism"] == "PLAIN"
    assert options["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.plain.PlainLoginModule required '
        f'username="$ConnectionString" password="{CONN}";')
    assert options["subscribe"] == "gate-events" and options["kafka.group.id"] == "databricks"
    assert options["maxOffsetsPerTrigger"] == "200000" and options["failOnDataLoss"] == "false"


def test_on_databricks_the_login_module_is_shaded_and_the_secret_comes_from_the_scope(monkeypatch):
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "17.3")

    class Secrets:
        def get(self, scope, key):
            assert (scope, key) == ("parkpal", "eventhubs-listen")
            return CONN

    class DbUtils:
        secrets = Secrets()

    jaas = kafka_options(_eventhubs(), Hub.ACTIVITY, DbUtils())["kafka.sasl.jaas.config"]
    assert jaas.startswith("kafkashaded.org.apache.kafka.common.security.plain.PlainLoginModule required")


def test_event_hubs_without_namespace_is_a_config_error():
    with pytest.raises(ConfigError, match="namespace"):
        kafka_options(SourceConfig(kind="eventhubs"), Hub.ACTIVITY)


def test_local_kafka_options():
    options = kafka_options(SourceConfig(kind="kafka", bootstrap_servers="127.0.0.1:9092"), Hub.ACTIVITY)
    assert options["kafka.bootstrap.servers"] == "127.0.0.1:9092" and "kafka.security.protocol" not in options


def test_capture_paths_give_the_arrival_window(spark):
    df = spark.createDataFrame([("/r/landing/gate-events/2026/11/02/08/15-00003.jsonl",), ("/elsewhere/x.jsonl",)],
                               "path STRING")
    got = [r.t for r in df.select(capture_window_start(F.col("path")).alias("t")).collect()]
    assert got == [datetime(2026, 11, 2, 8, 15), None]


def test_unreachable_kafka_is_one_line():
    with pytest.raises(ConfigError, match=r"cannot reach Kafka \(127.0.0.1:1: .*refused"):
        check_reachable(SourceConfig(kind="kafka", bootstrap_servers="127.0.0.1:1"), timeout_s=1)
