"""Streaming progress: every micro-batch logged as it is seen, its row kept in `ops.pipeline_progress`, in
one Delta commit per interval and one when the run ends, not one per progress check (an availableNow run's
single commit: `tests/test_ingestion.py::test_progress_is_recorded_...`)."""

import threading
import time

from parkpal_lakehouse.ingestion import _run_phases
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.io.progress import ProgressRecorder
from parkpal_lakehouse.names import PIPELINE_PROGRESS


def _rate_query(spark, name: str):
    return (spark.readStream.format("rate-micro-batch").option("rowsPerBatch", 10).load()
            .writeStream.format("noop").queryName(name).trigger(processingTime="200 milliseconds").start())


def _run_for(spark, config, name: str, batches: int, append_every_s: float) -> tuple[ProgressRecorder, list[str]]:
    """A continuous query run until `batches` of its micro-batches were seen (a minute at most), its progress
    checked every 0.4 s."""
    logged: list[str] = []
    recorder = ProgressRecorder(spark, config, log=logged.append, append_every_s=append_every_s)
    stop = threading.Event()

    def stop_when_seen() -> None:
        deadline = time.monotonic() + 60
        while len(recorder.rows) < batches and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()

    watcher = threading.Thread(target=stop_when_seen, daemon=True)
    watcher.start()
    _run_phases([[lambda: _rate_query(spark, name)]], stop, recorder, poll_seconds=0.4)
    watcher.join()
    return recorder, logged


def _kept(spark, config, name: str) -> list[tuple[str, int]]:
    rows = read_table(spark, config, PIPELINE_PROGRESS).where(f"query_name = '{name}'").collect()
    return sorted((r.run_id, r.batch_id) for r in rows)


def test_a_continuous_run_logs_each_batch_and_keeps_every_row_in_one_commit_per_interval(spark, lakehouse):
    started = time.monotonic()
    recorder, logged = _run_for(spark, lakehouse, "progress_probe", 8, append_every_s=1.0)
    seconds = time.monotonic() - started
    assert len(recorder.rows) >= 8, recorder.rows
    assert [line.split(":")[0] for line in logged] == [f"progress_probe batch {r['batch_id']}" for r in recorder.rows]
    assert _kept(spark, lakehouse, "progress_probe") == sorted((r["run_id"], r["batch_id"]) for r in recorder.rows)
    commits = delta_table(spark, lakehouse, PIPELINE_PROGRESS).history().collect()
    # appended while it ran (at most once a second here) and once more when it stopped; never one per check
    assert {c.operation for c in commits} == {"WRITE"}
    assert 2 <= len(commits) <= seconds + 1 and len(commits) < len(recorder.rows), (len(commits), seconds)
