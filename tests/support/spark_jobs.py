"""Spark jobs per test, an opt-in pytest plugin (issue 21):
`python -m pytest -p tests.support.spark_jobs [tests...]` (`-m` puts the checkout on the import path first).

Most of the suite's time is Spark jobs on small data, each with a fixed cost on the driver (planning,
serializing the closure and the task binary, Delta's snapshot) that the rows hardly add to: the number
of jobs a test starts predicts its time better than its rows do. After each test the plugin reads the
suite's session's DAG scheduler counters (jobs and stages started so far) and, at the end, prints the
tests that started the most jobs, the total and the seconds per job. Tests that start their own
`parkpal` processes count only the jobs of the suite's session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class JobsOfATest:
    test: str
    seconds: float
    jobs: int
    stages: int


def spark_counters() -> tuple[int, int] | None:
    """(jobs, stages) the running Spark context's scheduler has started, or None before there is one (the
    context, not the active session: that is per thread)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return None
    scheduler = context._jsc.sc().dagScheduler()
    return int(scheduler.nextJobId()), int(scheduler.nextStageId())


def summary(records: list[JobsOfATest], top: int = 15) -> list[str]:
    """The report's lines: totals, then the `top` tests by jobs with their seconds per job."""
    jobs = sum(r.jobs for r in records)
    seconds = sum(r.seconds for r in records)
    with_jobs = [r for r in records if r.jobs]
    lines = [f"{len(records)} tests started {jobs:,} Spark jobs ({sum(r.stages for r in records):,} stages) "
             f"in the suite's session; the {len(with_jobs)} that started any took "
             f"{sum(r.seconds for r in with_jobs):.1f} of {seconds:.1f} s"
             + (f", {1000 * sum(r.seconds for r in with_jobs) / jobs:.0f} ms per job" if jobs else "")]
    for r in sorted(with_jobs, key=lambda r: (-r.jobs, r.test))[:top]:
        lines.append(f"{r.jobs:6d} jobs {r.stages:6d} stages {r.seconds:8.2f} s "
                     f"{1000 * r.seconds / r.jobs:5.0f} ms/job  {r.test}")
    return lines


_records: list[JobsOfATest] = []
_before_teardown: list[tuple[int, int] | None] = [None]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    _before_teardown[0] = spark_counters()  # the last test's teardown stops the suite's session
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    before, started = spark_counters(), time.perf_counter()
    _before_teardown[0] = None
    yield
    after = spark_counters() or _before_teardown[0]
    if after is not None:
        jobs, stages = before or (0, 0)  # a test that started the session counts from zero
        _records.append(JobsOfATest(item.nodeid, time.perf_counter() - started, after[0] - jobs, after[1] - stages))


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.section("Spark jobs per test (tests.support.spark_jobs)")
    for line in summary(_records):
        terminalreporter.write_line(line)
