"""Where simulated messages go: landing files (the embedded default), a Kafka topic, or Event Hubs.

All sinks take batches of `Delivery`s in arrival order. `paced()` turns the full list into batches
released at a target rate (events/s) for streaming tests; without it everything goes at once.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.simulator.wire import Delivery


class Sink(Protocol):
    def write(self, batch: Sequence[Delivery]) -> None: ...

    def close(self) -> None: ...


def paced(
    items: Sequence[Delivery],
    rate: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    batches_per_second: int = 2,
) -> Iterator[Sequence[Delivery]]:
    """Yield consecutive slices of `items` so that about `rate` messages leave per second."""
    if rate <= 0:
        raise ConfigError(f"--rate must be positive, not {rate}")
    size = max(1, int(rate / batches_per_second))
    started = clock()
    for i in range(0, len(items), size):
        due = started + i / rate
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        yield items[i : i + size]


def landing_file(root: Path, delivery: Delivery, file_minutes: int, part: int) -> Path:
    """`<root>/<hub>/YYYY/MM/DD/HH/<mm>-<part>.jsonl` by arrival time (UTC), like Event Hubs Capture.

    The folder and minute name the arrival window's start; bronze reads the window end from the path
    as the enqueued time.
    """
    at = datetime.fromtimestamp(delivery.arrived_at, UTC)
    minute = at.minute - at.minute % file_minutes
    return root / delivery.hub.value / at.strftime("%Y/%m/%d/%H") / f"{minute:02d}-{part:05d}.jsonl"


class LandingSink:
    """JSON Lines files, one message per line; each file appears atomically (written hidden, renamed)."""

    def __init__(self, landing_root: Path, file_minutes: int = 15):
        self.root, self.file_minutes, self._part = Path(landing_root), file_minutes, 0
        self.files_written = 0

    def write(self, batch: Sequence[Delivery]) -> None:
        groups: dict[Path, list[str]] = defaultdict(list)
        for d in batch:
            groups[landing_file(self.root, d, self.file_minutes, self._part)].append(d.body)
        self._part += 1
        for path, lines in groups.items():
            if path.exists():
                raise ConfigError(
                    f"landing file {path} exists already: simulate into a fresh root or another --start-date"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            hidden = path.with_name("." + path.name + ".tmp")
            hidden.write_text("\n".join(lines) + "\n", encoding="utf-8")
            os.replace(hidden, path)
            self.files_written += 1

    def close(self) -> None:
        pass


class KafkaSink:
    """One topic per hub (named like the hub), key = partition key. Works against Event Hubs' Kafka
    endpoint too: pass `sasl_password` (the connection string) and the namespace's bootstrap."""

    def __init__(self, bootstrap_servers: str, sasl_password: str | None = None,
                 producer_factory: Callable[..., Any] | None = None, connect_timeout_ms: int = 10_000):
        options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers, "linger_ms": 20,
                                   "acks": "all", "retries": 5, "max_in_flight_requests_per_connection": 1,
                                   "bootstrap_timeout_ms": connect_timeout_ms}
        if sasl_password:
            options.update(security_protocol="SASL_SSL", sasl_mechanism="PLAIN",
                           sasl_plain_username="$ConnectionString", sasl_plain_password=sasl_password)
        if producer_factory is None:
            from kafka import KafkaProducer

            producer_factory = KafkaProducer
        try:
            self.producer = producer_factory(**options)
        except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
            raise ConfigError(f"cannot reach Kafka at {bootstrap_servers}: {exc}") from exc

    def probe(self) -> None:
        """The broker answered when the producer was made (it bootstraps): nothing more to check."""

    def write(self, batch: Sequence[Delivery]) -> None:
        for d in batch:
            self.producer.send(d.hub.value, key=d.key.encode(), value=d.body.encode("utf-8"))
        self.producer.flush()

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()


class EventHubsSink:
    """Azure Event Hubs over AMQP with `azure-eventhub`: one producer per hub, batches by partition key.

    The connection string (namespace-level, send rights) comes from the environment variable named by
    `connection_env`; `client_factory(conn_str, hub)` is injectable so the batching logic is testable
    without a namespace.
    """

    def __init__(self, connection_env: str = "PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING",
                 client_factory: Callable[[str, str], Any] | None = None):
        conn = os.environ.get(connection_env)
        if not conn:
            raise ConfigError(f"the Event Hubs sink needs a connection string: export {connection_env}")
        if client_factory is None:
            from azure.eventhub import EventHubProducerClient

            def client_factory(c: str, hub: str) -> Any:
                # Few retries: a namespace that does not answer is a configuration error, not a blip.
                return EventHubProducerClient.from_connection_string(c, eventhub_name=hub, retry_total=1)

        self._conn, self._factory, self._clients = conn, client_factory, {}
        self.batches_sent = 0

    def probe(self, hub: str = "activity-events") -> None:
        """One metadata call to the namespace before anything is generated: an unreachable namespace,
        a wrong key or a missing hub is one line now rather than a stack trace after the city is made."""
        try:
            self._client(hub).get_eventhub_properties()
        except Exception as exc:  # azure-eventhub raises ConnectError, AuthenticationError, ...
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise ConfigError(f"cannot reach Event Hubs ({type(exc).__name__}): {first[:300]}") from None

    def _client(self, hub: str) -> Any:
        if hub not in self._clients:
            self._clients[hub] = self._factory(self._conn, hub)
        return self._clients[hub]

    def write(self, batch: Sequence[Delivery]) -> None:
        from azure.eventhub import EventData

        by_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        for d in batch:
            by_key[(d.hub.value, d.key)].append(d.body)
        for (hub, key), bodies in by_key.items():
            client = self._client(hub)
            current = client.create_batch(partition_key=key)
            for body in bodies:
                try:
                    current.add(EventData(body))
                except ValueError:  # batch full: send it and start the next one
                    client.send_batch(current)
                    self.batches_sent += 1
                    current = client.create_batch(partition_key=key)
                    current.add(EventData(body))
            client.send_batch(current)
            self.batches_sent += 1

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
