"""Spark jobs per test, an opt-in pytest plugin (issue 21):
`python -m pytest -p tests.support.spark_jobs [tests...]` (`-m` puts the checkout on the import path first).

Most of the suite's time is Spark jobs on small data, each with a fixed cost on the driver (planning,
serializing the closure and the task binary, Delta's snapshot) that the rows hardly add to: the number
of jobs a test starts predicts its time better than its rows do. After each test the plugin reads the
running Spark context's DAG scheduler counters (jobs and stages started so far) and, at the end, prints the
tests that started the most jobs, the total and the seconds per job. Tests that start their own
`parkpal` processes count only the jobs of the suite's session.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class JobsOfATest:
    test: str
    seconds: float
    jobs: int
    stages: int
    kinds: Counter = field(default_factory=Counter)  # job_kind -> jobs


def spark_counters() -> tuple[int, int] | None:
    """(jobs, stages) the running Spark context's scheduler has started, or None before there is one (the
    context, not the active session: that is per thread)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    if context is None:
        return None
    scheduler = context._jsc.sc().dagScheduler()
    return int(scheduler.nextJobId()), int(scheduler.nextStageId())


_NOISE = [
    (re.compile(r"(\w) id = \S+ runId = \S+"), r"\1"),  # a named streaming query's ids
    (re.compile(r"(^|\s)id = \S+ runId = \S+"), r"\1streaming query"),  # an unnamed one's
    (re.compile(r" batch = \d+"), ""),
    (re.compile(r"version: \d+"), "version"),
    (re.compile(r"(Listing leaf files and directories) for \d+ paths:.*"), r"\1"),
    (re.compile(r"<br/>.*"), ""),
]


def job_kind(description: str, call_site: str) -> str:
    """What a job was, without what differs between runs: its description (query name, Delta's status
    such as "Filtering files for query") with ids, batch numbers and versions removed, or, without one,
    its call site ("collect at .../sessions/inputs.py:53" -> "collect at inputs.py:53")."""
    text = " ".join(description.split())  # a streaming query's description spans lines
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    if text:
        return text
    where, _, place = call_site.partition(" at ")
    return f"{where} at {place.rsplit('/', 1)[-1]}" if place else where or "?"


def spark_job_kinds(first: int, end: int) -> Counter:
    """`job_kind` counts of jobs `first` .. `end - 1` that the running context's status store holds (once
    its listener, which runs behind the jobs, has caught up; evicted ones are left out)."""
    from py4j.protocol import Py4JJavaError
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    kinds: Counter = Counter()
    if context is None:
        return kinds
    context._jsc.sc().listenerBus().waitUntilEmpty()
    store = context._jsc.sc().statusStore()
    for job_id in range(first, end):
        try:
            job = store.job(job_id)
        except Py4JJavaError:  # evicted from the store (spark.ui.retainedJobs): NoSuchElementException
            continue
        description = job.description().get() if job.description().isDefined() else ""
        kinds[job_kind(description, job.name())] += 1
    return kinds


def summary(records: list[JobsOfATest], top: int = 15, detailed: int = 5, kinds: int = 6) -> list[str]:
    """The report's lines: totals, then the `top` tests by jobs with their seconds per job, the first
    `detailed` of them followed by their `kinds` most frequent job kinds."""
    jobs = sum(r.jobs for r in records)
    seconds = sum(r.seconds for r in records)
    with_jobs = [r for r in records if r.jobs]
    lines = [f"{len(records)} tests started {jobs:,} Spark jobs ({sum(r.stages for r in records):,} stages) "
             f"in the suite's session; the {len(with_jobs)} that started any took "
             f"{sum(r.seconds for r in with_jobs):.1f} of {seconds:.1f} s"
             + (f", {1000 * sum(r.seconds for r in with_jobs) / jobs:.0f} ms per job" if jobs else "")]
    for rank, r in enumerate(sorted(with_jobs, key=lambda r: (-r.jobs, r.test))[:top]):
        lines.append(f"{r.jobs:6d} jobs {r.stages:6d} stages {r.seconds:8.2f} s "
                     f"{1000 * r.seconds / r.jobs:5.0f} ms/job  {r.test}")
        if rank < detailed:
            lines += [f"{n:14d}  {kind}" for kind, n in sorted(r.kinds.items(), key=lambda k: (-k[1], k[0]))[:kinds]]
    return lines


_records: list[JobsOfATest] = []
_test: dict = {}  # the running test's readings


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    # The last test's teardown stops the suite's session: read what the test ran before that (the time the
    # reading takes is not the test's).
    started = time.perf_counter()
    counters = _test["before_teardown"] = spark_counters()
    if counters is not None:
        _test["kinds"] = spark_job_kinds((_test["before"] or (0, 0))[0], counters[0])
    _test["reading"] = time.perf_counter() - started
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _test.clear()
    _test["before"], started = spark_counters(), time.perf_counter()
    yield
    seconds = time.perf_counter() - started - _test.get("reading", 0.0)
    jobs, stages = _test["before"] or (0, 0)  # a test that started the session counts from zero
    at_teardown, after = _test.get("before_teardown"), spark_counters()
    kinds = _test.get("kinds", Counter())
    if after is not None:  # jobs its teardown ran
        kinds = kinds + spark_job_kinds(at_teardown[0] if at_teardown else jobs, after[0])
    after = after or at_teardown
    if after is not None:
        _records.append(JobsOfATest(item.nodeid, seconds, after[0] - jobs, after[1] - stages, kinds))


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.section("Spark jobs per test (tests.support.spark_jobs)")
    for line in summary(_records):
        terminalreporter.write_line(line)
