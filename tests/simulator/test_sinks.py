import json
from datetime import UTC, datetime

import pytest
from azure.eventhub import EventDataBatch

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.simulator.sinks import EventHubsSink, KafkaSink, LandingSink, paced
from parkpal_lakehouse.simulator.wire import Delivery


def _deliveries(n: int, hub: Hub = Hub.ACTIVITY, keys: int = 3) -> list[Delivery]:
    start = datetime(2026, 10, 26, 8, 0, tzinfo=UTC).timestamp()
    return [Delivery(start + i, i, hub, str(100_001 + i % keys), json.dumps({"n": i})) for i in range(n)]


def test_paced_releases_about_rate_messages_per_second():
    now = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    batches = list(paced(_deliveries(1000), rate=200, clock=lambda: now[0], sleep=sleep))
    assert sum(len(b) for b in batches) == 1000
    assert now[0] == pytest.approx(1000 / 200 - 100 / 200, abs=0.01)  # the last batch leaves at t=4.5s
    with pytest.raises(ConfigError):
        list(paced(_deliveries(1), rate=0))


def test_landing_sink_writes_capture_like_folders_atomically(tmp_path):
    sink = LandingSink(tmp_path, file_minutes=15)
    sink.write(_deliveries(10))
    files = sorted(tmp_path.rglob("*.jsonl"))
    assert [f.relative_to(tmp_path).parts for f in files] == [
        ("activity-events", "2026", "10", "26", "08", "00-00000.jsonl")
    ]
    assert sum(len(f.read_text().splitlines()) for f in files) == 10
    assert not list(tmp_path.rglob(".*"))  # no hidden temp files left behind


class RecordingProducer:
    """Stands in for the network side only: real EventDataBatch objects, sends recorded."""

    def __init__(self, hub: str, max_bytes: int):
        self.hub, self.max_bytes, self.sent, self.closed = hub, max_bytes, [], False

    def create_batch(self, partition_key: str) -> EventDataBatch:
        return EventDataBatch(max_size_in_bytes=self.max_bytes, partition_key=partition_key)

    def send_batch(self, batch: EventDataBatch) -> None:
        self.sent.append(batch)

    def close(self) -> None:
        self.closed = True


def test_event_hubs_sink_batches_by_partition_key_and_splits_full_batches(monkeypatch):
    monkeypatch.setenv("PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING", "Endpoint=sb://ns.servicebus.windows.net/;x")
    producers: dict[str, RecordingProducer] = {}

    def factory(conn: str, hub: str) -> RecordingProducer:
        assert conn.startswith("Endpoint=sb://")
        return producers.setdefault(hub, RecordingProducer(hub, max_bytes=400))

    sink = EventHubsSink(client_factory=factory)
    sink.write(_deliveries(30, keys=3) + _deliveries(4, hub=Hub.GATE, keys=1))
    sink.close()
    activity = producers["activity-events"]
    assert sum(len(b) for b in activity.sent) == 30
    assert len(activity.sent) > 3  # 10 messages per key do not fit one 400-byte batch
    for batch in activity.sent:
        assert batch._partition_key in {b"100001", b"100002", b"100003", "100001", "100002", "100003"}
    assert sum(len(b) for b in producers["gate-events"].sent) == 4
    assert activity.closed and sink.batches_sent == len(activity.sent) + len(producers["gate-events"].sent)


def test_event_hubs_sink_without_connection_string_says_what_to_export(monkeypatch):
    monkeypatch.delenv("PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING", raising=False)
    with pytest.raises(ConfigError, match="export PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING"):
        EventHubsSink()


def test_kafka_sink_configures_the_event_hubs_kafka_endpoint():
    seen = {}

    class Producer:
        def __init__(self, **options):
            seen.update(options)

    KafkaSink("ns.servicebus.windows.net:9093", sasl_password="Endpoint=sb://ns/;k", producer_factory=Producer)
    assert seen["security_protocol"] == "SASL_SSL" and seen["sasl_mechanism"] == "PLAIN"
    assert seen["sasl_plain_username"] == "$ConnectionString"


def test_unreachable_kafka_is_a_one_line_error():
    with pytest.raises(ConfigError, match="cannot reach Kafka at 127.0.0.1:1"):
        KafkaSink("127.0.0.1:1", connect_timeout_ms=1500)
