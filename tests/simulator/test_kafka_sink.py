"""The simulator's Kafka sink against a real broker (Apache Kafka's jars, KRaft, loopback)."""

import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.sinks import KafkaSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_simulated_messages_arrive_on_one_topic_per_hub_keyed_by_user(kafka_broker, tmp_path):
    """Every message the simulator sent is read back from its hub's topic, and the topics hold no more (their end
    offsets: the broker is this run's own, so an offset is a record). Read until the sent counts are reached
    rather than until the consumer has been idle a while (issue 21: that idle wait was 5 s of the test)."""
    sink = KafkaSink(kafka_broker.bootstrap_servers)
    report = simulate(SimulationSettings(seed=5, zones=3, users=40), tmp_path, sink=sink)
    wire = report.stats.as_dict()
    sent = {h.value: wire[h.value]["received"] for h in Hub}
    consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers, auto_offset_reset="earliest",
                             group_id=None)
    consumer.subscribe(list(sent))
    received = dict.fromkeys(sent, 0)
    keys = set()
    deadline = time.monotonic() + 60
    while any(received[t] < sent[t] for t in sent) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                received[record.topic] += 1
                if record.topic == Hub.ACTIVITY.value:
                    keys.add(int(record.key))
    partitions = [TopicPartition(t, p) for t in sent for p in consumer.partitions_for_topic(t)]
    held = dict.fromkeys(sent, 0)
    for partition, end in consumer.end_offsets(partitions).items():
        held[partition.topic] += end
    consumer.close()
    assert received == sent and held == sent, (received, held)
    assert keys and all(k > 100_000 for k in keys)
