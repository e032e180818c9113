"""A real single-node Kafka broker (KRaft, Apache Kafka's own jars) on loopback, for tests and benchmarks.

Started in its own JVM on free ports with its data in a folder it is given; `stop()` and `start()`
again keep the data, so tests can restart the broker mid-stream.
"""

from __future__ import annotations

import base64
import socket
import subprocess
import time
import uuid
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime.jars import KAFKA_BROKER_JARS, ensure_jars, java_executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something listens on `host:port` (one TCP connect, closed at once)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _cluster_id() -> str:
    """A KRaft cluster id: a UUID in URL-safe base64, never starting with "-" (the storage tool would read
    it as an option and print its usage; Kafka's own `Uuid.randomUuid` skips those ids the same way)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not candidate.startswith("-"):
            return candidate


class LocalKafkaBroker:
    def __init__(self, data_dir: Path, partitions: int = 4):
        self.data_dir = Path(data_dir)
        self.port, self.controller_port = free_port(), free_port()
        self.partitions = partitions
        self._process: subprocess.Popen | None = None
        self._java = java_executable()
        self._classpath = ":".join(str(j) for j in ensure_jars(KAFKA_BROKER_JARS))
        self._config = self.data_dir / "server.properties"
        self._log = self.data_dir / "broker.log"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._config.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={self.data_dir / 'logs'}",
            f"num.partitions={self.partitions}",
            "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.ms=-1",
            "",
        ]))

    def _java_cmd(self, main: str, *args: str) -> list[str]:
        return [self._java, "-Xms128m", "-Xmx512m", "-XX:+UseSerialGC",
                f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
                "-cp", self._classpath, main, *args]

    def start(self, timeout: float = 60.0) -> LocalKafkaBroker:
        if not self._config.exists():
            self._write_config()
            (self.data_dir / "log4j.properties").write_text(
                "log4j.rootLogger=WARN, stdout\nlog4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
                "log4j.appender.stdout.layout.ConversionPattern=%d %p %c{1}: %m%n\n")
            cluster_id = _cluster_id()
            fmt = subprocess.run(self._java_cmd("kafka.tools.StorageTool", "format", "-t", cluster_id,
                                                "-c", str(self._config)), capture_output=True, text=True)
            if fmt.returncode != 0:
                raise ParkPalError(f"formatting Kafka storage failed: {fmt.stderr.strip()[:300]}")
        log = self._log.open("ab")
        self._process = subprocess.Popen(self._java_cmd("kafka.Kafka", str(self._config)),
                                         stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        """Until the broker answers a metadata request. Its port is awaited first with plain connects: an
        admin client made while the port still refused connections took seconds to give up, and a start
        then took ~8.5 s instead of ~2.5 s, about one start in two (issue 21)."""
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not accepts_connections(self.port):
            self._raise_if_exited()
            time.sleep(0.1)
        last: object = f"nothing accepted connections on {self.bootstrap_servers}"
        while time.monotonic() < deadline:
            self._raise_if_exited()
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000)
                admin.list_topics()
                admin.close()
                return
            except Exception as exc:  # not up yet
                last = exc
                time.sleep(0.5)
        self.stop()
        raise ParkPalError(f"Kafka broker not ready after {timeout:.0f}s ({last}); see {self._log}")

    def _raise_if_exited(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            raise ParkPalError(f"Kafka broker exited with {self._process.returncode}; see {self._log}")

    def create_topics(self, names: list[str]) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            existing = set(admin.list_topics())
            new = [NewTopic(n, self.partitions, 1) for n in names if n not in existing]
            if new:
                admin.create_topics(new)
        finally:
            admin.close()

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> LocalKafkaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
