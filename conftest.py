"""Shared fixtures: one Delta-enabled Spark session for the whole run, an MLflow sqlite registry,
and a small simulated city reused by the tests that only read it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig, local_config
from parkpal_lakehouse.runtime.clock import use_utc
from parkpal_lakehouse.runtime.console import restored_environ
from parkpal_lakehouse.runtime.session import (
    INTERPRETED_PROJECTIONS,
    QUICK_JIT,
    LocalSparkSettings,
    build_local_session,
)

use_utc()  # the suite runs in UTC on any machine, as the `parkpal` command and the steps do (runtime/clock.py)

# Spark's launcher puts this variable's options on a driver JVM's command line (`spark-submit`, which PySpark runs).
SUBMIT_OPTS = "SPARK_SUBMIT_OPTS"
# The driver JVM options of the commands tests start (see `spark` below).
SMALL_COMMAND_OPTS = (QUICK_JIT, *(f"-D{key}={value}" for key, value in INTERPRETED_PROJECTIONS.items()))


@pytest.fixture(scope="session")
def spark_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="session")
def spark(spark_root: Path) -> Iterator[SparkSession]:
    """`local[2]`, one shuffle partition, UI off, warehouse in a temp folder; built like production, with
    interpreted projections (every test's data is small: `INTERPRETED_PROJECTIONS`).

    One shuffle partition: a test's few thousand rows fit one task, and each partition of a shuffle, a write
    or a stateful operator costs a task, a file and a state store of its own whatever its rows (issue 21,
    forty-first part: `tests/test_landing.py tests/gold/test_status.py tests/sessions/test_streaming.py`
    257.01 / 256.36 s with 2 against 248.32 / 246.93 s with 1, alternating). The tests whose subject is how
    work is spread over partitions choose more themselves (`tests/sessions/test_streaming.py` runs its streams
    on 3 state partitions), and the commands tests start as their own processes keep the CLI's 4."""
    settings = LocalSparkSettings(master="local[2]", app_name="parkpal-tests", shuffle_partitions=1,
                                  driver_memory="3g", extra_conf=INTERPRETED_PROJECTIONS)
    session = build_local_session(local_config(spark_root), settings)
    # From here on, the commands tests run as their own processes (`parkpal stream start`, `sql serve`, `share
    # serve`, one-off CLI runs) start their driver JVMs with C1 only (`QUICK_JIT`): they live seconds on tiny data,
    # where C2's compiling does not pay back (the SIGTERM stream's test 26.7 -> 23.6 s, two runs alternating; issue
    # 21, docs/ingestion.md). They interpret projections as this session does (`INTERPRETED_PROJECTIONS`, passed as
    # Java system properties, which Spark reads as settings): the SIGTERM stream, SIGKILL, `share serve` and beeline
    # tests 103.4 -> 94.0 s on average (two runs against four, alternating; issue 21, thirty-first part).
    # `tests/runtime/test_jars.py` starts Spark as a user's command does, and checks it generates them.
    # This session's JVM, started above, keeps C2: it runs the whole suite.
    with restored_environ(SUBMIT_OPTS):
        os.environ[SUBMIT_OPTS] = " ".join(filter(None, (os.environ.get(SUBMIT_OPTS), *SMALL_COMMAND_OPTS)))
        yield session
    session.stop()


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory):
    """One day of an 8-zone, 400-user city with noise; read-only for tests (ingestion writes beside it)."""
    from tests.support.city import build_small_city

    return build_small_city(tmp_path_factory.mktemp("city"))


@pytest.fixture
def lakehouse(tmp_path: Path) -> LakehouseConfig:
    """A fresh local lakehouse under the test's temp folder."""
    return local_config(tmp_path / "lakehouse")


@pytest.fixture
def mlflow_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Tracking and registry on a temp sqlite file (MLflow 3 refuses a plain file store)."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory):
    """A real Kafka broker (KRaft) on a free loopback port for the whole run."""
    from parkpal_lakehouse.runtime.kafka_broker import LocalKafkaBroker

    broker = LocalKafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def ingested_city(spark: SparkSession, small_city):
    """The small city carried through bronze, silver and sessionization once (availableNow), shared by
    read-only tests."""
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.ingestion import run_ingestion
    from parkpal_lakehouse.silver.reference import load_reference_tables

    config = local_config(small_city.root)
    load_reference_tables(spark, config, small_city.root / "reference")
    report = run_ingestion(spark, config, list(Hub), progress=lambda _m: None, sessions=True)
    return config, report


def copy_city(src: Path, dst: Path) -> LakehouseConfig:
    """The small city's tables, truth and reference data under a new root (a lakehouse tests may write to)."""
    import shutil
    from dataclasses import replace

    for part in ("tables", "truth", "reference"):
        shutil.copytree(src / part, dst / part)
    config = local_config(dst)
    # Changes are found from the last run's start; no margin, so a test sees exactly what it wrote.
    return replace(config, gold=replace(config.gold, change_margin_minutes=0, optimize_after_write=False))


@dataclass(frozen=True)
class FirstHourlyJob:
    """The bundle's hourly job's first run over the gold city: what it printed, its gold run's mode and hours."""

    output: str
    mode: str
    hours: list[datetime]


@pytest.fixture(scope="session")
def gold_city(spark, ingested_city, small_city, tmp_path_factory):
    """The small city copied, then the bundle's hourly job run once on it as the schedule runs it (`parkpal jobs
    run hourly`: gold for every closed hour, the gold quality checks, forecast scoring); read-only."""
    import contextlib
    import io

    from parkpal_lakehouse.cli import main
    from parkpal_lakehouse.io.delta import read_table
    from parkpal_lakehouse.names import HOURLY_RUNS

    root = tmp_path_factory.mktemp("gold") / "city"
    config = copy_city(small_city.root, root)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["jobs", "run", "hourly", "--root", str(root)])
    assert code == 0, printed.getvalue()
    (run,) = read_table(spark, config, HOURLY_RUNS).collect()
    # a first run computes every closed hour from silver's first: one contiguous range
    first, last = (run[c].replace(tzinfo=UTC) for c in ("first_hour", "last_hour"))
    hours = [first + timedelta(hours=i) for i in range(run.hours_computed)]
    assert hours[-1] == last, (hours, last)
    return config, FirstHourlyJob(printed.getvalue(), run.mode, hours)
