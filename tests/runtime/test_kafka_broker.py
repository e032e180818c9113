import socket
import subprocess
import sys

import pytest

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime.kafka_broker import LocalKafkaBroker, _cluster_id, accepts_connections


def test_cluster_ids_never_look_like_an_option():
    """A base64 id starting with "-" made Kafka's storage tool print its usage (a 1-in-64 CI failure)."""
    ids = {_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_a_port_accepts_connections_only_while_something_listens():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert accepts_connections(port)
    assert not accepts_connections(port)


def _broker_process(tmp_path, code: str) -> LocalKafkaBroker:
    """A broker whose JVM is stood in for by a Python process running `code` (the waiting is what is tested)."""
    broker = LocalKafkaBroker(tmp_path / "kafka")
    broker._process = subprocess.Popen([sys.executable, "-c", code])
    return broker


def test_a_broker_that_never_listens_is_an_error_naming_its_address_and_is_stopped(tmp_path):
    broker = _broker_process(tmp_path, "import time; time.sleep(60)")
    process = broker._process
    with pytest.raises(ParkPalError, match=rf"not ready after 2s \(nothing accepted connections on "
                                           rf"{broker.bootstrap_servers}\)"):
        broker._wait_ready(timeout=2.0)
    assert process.poll() is not None and broker._process is None


def test_a_broker_that_exits_while_starting_is_an_error_with_its_exit_code(tmp_path):
    broker = _broker_process(tmp_path, "raise SystemExit(3)")
    broker._process.wait()
    with pytest.raises(ParkPalError, match="Kafka broker exited with 3"):
        broker._wait_ready(timeout=5)
