"""What the terminal shows: plain lines when it is not a terminal, a heartbeat in long silences, what Spark
is doing now from its own status, and libraries' output (JVM, Python workers, MLflow, warnings) in the log
file instead of the terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from parkpal_lakehouse.runtime.console import Console, interactive, spark_activity

LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] ")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_output_only_when_both_streams_are_terminals(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert interactive(_Tty(), _Tty())
    assert not interactive(io.StringIO(), _Tty())  # results piped: they must stay on stdout, so no live display
    assert not interactive(_Tty(), io.StringIO())
    monkeypatch.setenv("TERM", "dumb")
    assert not interactive(_Tty(), _Tty())
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("CI", "true")
    assert not interactive(_Tty(), _Tty())


def test_plain_mode_prints_one_timestamped_line_per_event_and_a_heartbeat_in_silence():
    out = io.StringIO()
    console = Console(live=False, heartbeat_s=0.3, stream=out)
    with console.watching(None, every_s=0.05):
        console("gold: 2026-11-01 15:00 -> 2026-11-02 15:00 UTC (1/2)")
        time.sleep(0.5)
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("gold: 2026-11-01 15:00 -> 2026-11-02 15:00 UTC (1/2)")
    assert any("still working" in line for line in lines[1:]), lines
    assert all(LINE.match(line) for line in lines), lines
    assert "\x1b[" not in out.getvalue()  # no terminal control codes in a log


def test_no_heartbeat_while_events_keep_coming():
    out = io.StringIO()
    console = Console(live=False, heartbeat_s=0.5, stream=out)
    with console.watching(None, every_s=0.05):
        for i in range(8):
            console(f"event {i}")
            time.sleep(0.1)
    assert "still working" not in out.getvalue()


@pytest.mark.slow
def test_spark_activity_names_the_running_query_its_rows_so_far_and_the_stage_tasks(spark):
    entered, release = threading.Event(), threading.Event()

    def slow(batch, batch_id):
        batch.count()
        if batch_id >= 3:  # the rate source's first batch is empty
            entered.set()
            release.wait(30)

    query = (spark.readStream.format("rate").option("rowsPerSecond", 50).load()
             .writeStream.queryName("console_probe").foreachBatch(slow).trigger(processingTime="200 milliseconds")
             .start())
    try:
        assert entered.wait(60), "the probe query never reached its second batch"
        lines = spark_activity(spark)
        probe = next(line for line in lines if line.startswith("console_probe:"))
        assert re.search(r"batch \d+ running; [\d,]+ rows so far", probe), probe
        assert int(re.search(r"([\d,]+) rows so far", probe).group(1).replace(",", "")) > 0
    finally:
        release.set()
        query.stop()


QUIET = """
import logging, sys, warnings
from pathlib import Path
from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.runtime.console import library_output_to
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark

root = Path(sys.argv[1])
routed = library_output_to(root / "logs" / "parkpal.log")
routed.__enter__()
import mlflow
mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
mlflow.MlflowClient().search_experiments()  # MLflow logs "Creating initial MLflow database tables..."
warnings.warn("parkpal-test-warning", UserWarning)
spark = get_spark(local_config(root), LocalSparkSettings(master="local[1]", shuffle_partitions=1))
from pyspark.sql import functions as F

@F.udf("long")
def noisy(x):
    print("parkpal-test-python-worker", file=sys.stderr, flush=True)
    return x

spark.range(1).select(noisy("id")).collect()
print("our result")
"""


@pytest.mark.slow
def test_library_output_goes_to_the_log_file_and_ours_stays_on_the_terminal(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "PARKPAL_LIBRARY_LOG"}
    result = subprocess.run([sys.executable, "-c", QUIET, str(tmp_path)], capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == "our result\n"
    log = (tmp_path / "logs" / "parkpal.log").read_text()
    for noise in ("Using incubator modules", "Creating initial MLflow database tables", "parkpal-test-warning",
                  "parkpal-test-python-worker"):
        assert noise in log, noise  # it was produced (so the test can fail) ...
        assert noise not in result.stderr, noise  # ... and kept off the terminal
    assert result.stderr.strip() == "", result.stderr


def test_routing_ends_with_the_block_so_in_process_callers_get_their_logging_back(tmp_path, monkeypatch):
    import logging
    import warnings

    from parkpal_lakehouse.runtime.console import LIBRARY_LOG_ENV, library_output_to

    monkeypatch.delenv(LIBRARY_LOG_ENV, raising=False)
    noisy = logging.getLogger("parkpal.test.library")
    terminal = logging.StreamHandler(io.StringIO())
    noisy.addHandler(terminal)
    noisy.propagate = False
    root_handlers, showwarning = list(logging.getLogger().handlers), warnings.showwarning
    log = tmp_path / "logs" / "parkpal.log"
    with library_output_to(log):
        assert os.environ[LIBRARY_LOG_ENV] == str(log)
        noisy.warning("routed-line")  # (warnings reaching the file: the subprocess test; pytest holds them here)
    assert "routed-line" in log.read_text()
    assert terminal.stream.getvalue() == ""  # it did not reach the library's own terminal handler
    assert LIBRARY_LOG_ENV not in os.environ
    assert logging.getLogger().handlers == root_handlers and warnings.showwarning is showwarning
    assert noisy.handlers == [terminal] and noisy.propagate is False
    noisy.removeHandler(terminal)
