"""Exactly once under failure: the streaming process killed hard, and the Kafka broker restarted."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from parkpal_lakehouse.config import SourceConfig, StreamSettings, local_config
from parkpal_lakehouse.contracts.events import Hub, contract_violations, parse_timestamp
from parkpal_lakehouse.contracts.reference import load_zones
from parkpal_lakehouse.ingestion import QUARANTINE, run_ingestion, silver_table
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.names import bronze_table
from parkpal_lakehouse.runtime.kafka_broker import LocalKafkaBroker
from parkpal_lakehouse.silver.reference import load_reference_tables
from parkpal_lakehouse.simulator.run import generate, simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.sinks import KafkaSink
from tests.support.city import classify_landing

pytestmark = [pytest.mark.slow, pytest.mark.integration]
HUBS = [Hub.ACTIVITY, Hub.GATE]


def _committed_rows(table_dir: Path) -> int:
    """Rows the Delta log says were added so far (from each add action's stats): a commit count is not enough,
    since a micro-batch may commit no rows."""
    rows = 0
    for commit in sorted((table_dir / "_delta_log").glob("*.json")) if table_dir.exists() else []:
        for line in commit.read_text().splitlines():
            add = json.loads(line).get("add")
            if add and add.get("stats"):
                rows += json.loads(add["stats"]).get("numRecords", 0)
    return rows


def _silver_identities(spark, config, hub: Hub) -> Counter:
    cols = ("event_id", "user_id", "session_id") if hub is not Hub.GATE else ("event_id", "NULL", "NULL")
    rows = read_table(spark, config, silver_table(hub)).selectExpr(
        *cols[:1], f"{cols[1]} AS user_id", f"{cols[2]} AS session_id", "unix_micros(event_time) / 1e6 AS ts"
    ).collect()
    return Counter(r.event_id or f"{r.user_id}|{r.session_id}|{r.ts:.3f}" for r in rows)


def _sent_identities(events: list[dict]) -> Counter:
    return Counter(e.get("eventId") or f"{e['userId']}|{e['sessionId']}|{e['_ts']:.3f}" for e in events)


def _valid_through_kafka(messages, hub: Hub, root: Path) -> Counter:
    """The unique valid events of `hub` as the Kafka path sees them. There `enqueued_at` is the real produce
    time (today), and the simulated day lies a few days before it (`_recent_day`): no record is in the
    future or older than the age limit, so those two rules are left out (now=None)."""
    zone_ids = frozenset(z.zoneId for z in load_zones(root / "reference" / "zones.csv"))
    events, seen = [], set()
    for m in messages:
        if m.hub is not hub or m.body in seen:
            continue
        seen.add(m.body)
        try:
            event = json.loads(m.body)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and not contract_violations(hub, event, zone_ids=zone_ids):
            events.append({**event, "_ts": parse_timestamp(event["timestamp"]).timestamp()})
    return _sent_identities(events)


def _cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "parkpal_lakehouse.cli", "stream", "start", "--root", str(root),
            "--hubs", ",".join(h.value for h in HUBS), *args]


def test_sigkill_mid_ingestion_then_restart_loses_and_duplicates_nothing(spark, tmp_path):
    root = tmp_path / "city"
    simulate(SimulationSettings(seed=21, zones=3, users=100), root)
    config = local_config(root)
    load_reference_tables(spark, config, root / "reference")

    streaming = subprocess.Popen(
        _cli(root, "--trigger", "processingTime=1 second", "--max-files-per-trigger", "8", "--no-quality"),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    silver_dir = Path(config.table_path(silver_table(Hub.ACTIVITY)))
    deadline = time.monotonic() + 300
    while _committed_rows(silver_dir) == 0 and time.monotonic() < deadline and streaming.poll() is None:
        time.sleep(0.5)
    assert streaming.poll() is None, streaming.stdout.read().decode()[-3000:]
    os.killpg(streaming.pid, signal.SIGKILL)  # the Python driver and its JVM, mid-stream
    streaming.wait()
    killed_at = {"silver": read_table(spark, config, silver_table(Hub.ACTIVITY)).count(),
                 "bronze": read_table(spark, config, bronze_table(Hub.ACTIVITY)).count()}

    # Restarted by another driver from what the killed one left on disk (checkpoints, Delta logs): this
    # process's session, as `stream start --trigger availableNow` would run it (quality on).
    restarted = run_ingestion(spark, config, HUBS, progress=lambda _m: None)
    assert restarted.batches > 0, restarted

    landed = classify_landing(root, float(json.loads((root / "truth/manifest.json").read_text())["window_end"]))
    for hub in HUBS:
        assert _silver_identities(spark, config, hub) == _sent_identities(landed.valid[hub]), hub
        received = sum(len(p.read_text().splitlines()) for p in (root / "landing" / hub.value).rglob("*.jsonl"))
        assert read_table(spark, config, bronze_table(hub)).count() == received, hub
    quarantined = Counter(r.hub for r in read_table(spark, config, QUARANTINE).collect())
    assert quarantined == Counter({h.value: landed.malformed[h] + landed.invalid[h] for h in HUBS})
    received = sum(len(p.read_text().splitlines()) for p in (root / "landing/activity-events").rglob("*.jsonl"))
    assert killed_at["silver"] > 0 and killed_at["bronze"] < received, killed_at  # really killed midway


def _recent_day() -> date:
    """A simulated day whose records (late uploads up to two days after it) are all in the past and
    well within silver's 30-day age limit against today's produce time. A fixed date stops working once
    it is 30 days old: this test failed on 2026-12-01 for the default day, 2026-11-02."""
    return datetime.now(UTC).date() - timedelta(days=5)


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(spark, tmp_path):
    root = tmp_path / "city"
    city = generate(SimulationSettings(seed=22, zones=4, users=120, start_date=_recent_day()), root)
    messages = [m for m in city.messages if m.hub in HUBS]
    half = len(messages) // 2
    with LocalKafkaBroker(tmp_path / "kafka") as broker:
        broker.create_topics([h.value for h in HUBS])
        sink = KafkaSink(broker.bootstrap_servers)
        sink.write(messages[:half])
        sink.close()
        config = replace(local_config(root),
                         source=SourceConfig(kind="kafka", bootstrap_servers=broker.bootstrap_servers),
                         stream=StreamSettings(trigger="processingTime=1 second"))
        load_reference_tables(spark, config, root / "reference")
        stop, errors = threading.Event(), []

        def run() -> None:
            try:
                run_ingestion(spark, config, HUBS, stop=stop, progress=lambda _m: None, poll_seconds=1)
            except Exception as exc:  # surfaced by the assertions below
                errors.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        expected_bronze = Counter(m.hub.value for m in messages)
        bronze_dir = Path(config.table_path(bronze_table(Hub.ACTIVITY)))
        deadline = time.monotonic() + 240
        while _committed_rows(bronze_dir) == 0 and time.monotonic() < deadline and not errors:
            time.sleep(0.5)
        broker.stop()
        time.sleep(3)
        broker.start()
        sink = KafkaSink(broker.bootstrap_servers)
        sink.write(messages[half:])
        sink.close()
        sent = {h: _valid_through_kafka(messages, h, root) for h in HUBS}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not errors:
            done = [read_table(spark, config, silver_table(h)).count() >= sum(sent[h].values()) for h in HUBS]
            bronze = [read_table(spark, config, bronze_table(h)).count() >= expected_bronze[h.value] for h in HUBS]
            if all(done) and all(bronze):
                break
            time.sleep(2)
        time.sleep(3)  # one more trigger: anything duplicated would land now
        stop.set()
        worker.join(timeout=120)
    assert not errors, errors
    for hub in HUBS:
        bodies = Counter(r.body for r in read_table(spark, config, bronze_table(hub)).select("body").collect())
        assert bodies == Counter(m.body for m in messages if m.hub is hub), hub
        assert _silver_identities(spark, config, hub) == sent[hub], hub
