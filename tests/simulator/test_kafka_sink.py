"""The simulator's Kafka sink against a real broker (Apache Kafka's jars, KRaft, loopback)."""

import pytest
from kafka import KafkaConsumer

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.sinks import KafkaSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_simulated_messages_arrive_on_one_topic_per_hub_keyed_by_user(kafka_broker, tmp_path):
    sink = KafkaSink(kafka_broker.bootstrap_servers)
    report = simulate(SimulationSettings(seed=5, zones=3, users=40), tmp_path, sink=sink)
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000, group_id=None)
    consumer.subscribe([h.value for h in Hub])
    received = {h.value: 0 for h in Hub}
    keys = set()
    for record in consumer:
        received[record.topic] += 1
        if record.topic == Hub.ACTIVITY.value:
            keys.add(int(record.key))
    consumer.close()
    wire = report.stats.as_dict()
    assert received == {h.value: wire[h.value]["received"] for h in Hub}
    assert keys and all(k > 100_000 for k in keys)
