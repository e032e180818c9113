"""Streaming progress: every micro-batch logged as it is seen, its row kept in `ops.pipeline_progress`, in
one Delta commit per interval and one when the run ends, not one per progress check (an availableNow run's
single commit: `tests/test_ingestion.py::test_progress_is_recorded_...`)."""

import threading
import time
from pathlib import Path

import pytest

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.ingestion import _run_phases
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.io.progress import ProgressRecorder, ran_a_batch
from parkpal_lakehouse.names import PIPELINE_PROGRESS


def _rate_query(spark, name: str):
    return (spark.readStream.format("rate-micro-batch").option("rowsPerBatch", 10).load()
            .writeStream.format("noop").queryName(name).trigger(processingTime="250 milliseconds").start())


def _run_until_appended(spark, config, name: str, batches: int, append_every_s: float
                        ) -> tuple[ProgressRecorder, list[str], bool]:
    """A continuous query run until at least `batches` of its micro-batches were seen and the progress table
    has a commit (a minute at most), its progress checked every 0.3 s. Also says whether a commit was there
    before the run was told to stop."""
    logged: list[str] = []
    recorder = ProgressRecorder(spark, config, log=logged.append, append_every_s=append_every_s)
    stop, log = threading.Event(), Path(config.table_path(PIPELINE_PROGRESS)) / "_delta_log"
    appended_while_running = threading.Event()

    def stop_when_appended() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (len(recorder.rows) >= batches and any(log.glob("*.json"))):
            time.sleep(0.1)
        if any(log.glob("*.json")):
            appended_while_running.set()
        stop.set()

    watcher = threading.Thread(target=stop_when_appended, daemon=True)
    watcher.start()
    _run_phases([[lambda: _rate_query(spark, name)]], stop, recorder, poll_seconds=0.3)
    watcher.join()
    return recorder, logged, appended_while_running.is_set()


def _kept(spark, config, name: str) -> list[tuple[str, int]]:
    rows = read_table(spark, config, PIPELINE_PROGRESS).where(f"query_name = '{name}'").collect()
    return sorted((r.run_id, r.batch_id) for r in rows)


def test_a_continuous_run_logs_each_batch_and_keeps_every_row_in_one_commit_per_interval(spark, lakehouse):
    started = time.monotonic()
    recorder, logged, appended_while_running = _run_until_appended(spark, lakehouse, "progress_probe", 5, 0.5)
    seconds = time.monotonic() - started
    assert len(recorder.rows) >= 5, recorder.rows
    assert [line.split(":")[0] for line in logged] == [f"progress_probe batch {r['batch_id']}" for r in recorder.rows]
    # every batch it logged is kept: appended while it ran, the rest when it stopped
    assert appended_while_running
    assert _kept(spark, lakehouse, "progress_probe") == sorted((r["run_id"], r["batch_id"]) for r in recorder.rows)
    # at most once an interval (half a second here) and once on the way out, never once per progress check
    commits = delta_table(spark, lakehouse, PIPELINE_PROGRESS).history().collect()
    assert {c.operation for c in commits} == {"WRITE"} and len(commits) <= seconds / 0.5 + 1, (len(commits), seconds)


def test_a_run_that_fails_in_a_later_stage_keeps_the_progress_of_the_stages_before(spark, lakehouse, tmp_path):
    """The first stage reads a folder to its end (availableNow); the second fails to start: the error is the
    run's, and the first stage's micro-batch is still in the table."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "part.txt").write_text("a\nb\nc\n")

    def read_folder():
        return (spark.readStream.format("text").load(str(tmp_path / "in")).writeStream.format("noop")
                .queryName("progress_first_stage").option("checkpointLocation", str(tmp_path / "checkpoint"))
                .trigger(availableNow=True).start())

    def failing():
        raise ParkPalError("second stage: the checkpoint belongs to another query")

    recorder = ProgressRecorder(spark, lakehouse, log=lambda _m: None)
    with pytest.raises(ParkPalError, match="belongs to another query"):
        _run_phases([[read_folder], [failing]], threading.Event(), recorder, poll_seconds=0.3)
    kept = read_table(spark, lakehouse, PIPELINE_PROGRESS).collect()
    assert [(r.query_name, r.num_input_rows) for r in kept] == [("progress_first_stage", 3)]


def test_a_batch_that_ran_without_new_rows_is_kept_and_an_idle_trigger_is_not():
    """Progress events as Spark reports them (`durationMs` phases): a batch with rows, a stateful query's batch
    without new rows (it ran: `addBatch`; the sessions stream's timeouts, `tests/test_ingestion.py` has a real
    one), an idle trigger's event (no batch ran) and an empty one: the last two are not micro-batches."""
    with_rows = {"numInputRows": 12, "durationMs": {"addBatch": 900, "latestOffset": 20, "triggerExecution": 1000}}
    timeouts = {"numInputRows": 0, "durationMs": {"addBatch": 3800, "latestOffset": 2, "triggerExecution": 4000}}
    idle = {"numInputRows": 0, "durationMs": {"latestOffset": 3, "triggerExecution": 3}}
    assert [ran_a_batch(p) for p in (with_rows, timeouts, idle, {})] == [True, True, False, False]
