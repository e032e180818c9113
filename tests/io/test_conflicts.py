"""Retrying Delta writes that lose a conflict to a concurrent writer."""

from __future__ import annotations

import threading

import pytest
from delta.exceptions import ConcurrentAppendException

from parkpal_lakehouse.io.conflicts import is_conflict, with_conflict_retries
from parkpal_lakehouse.io.delta import create_table_if_missing, read_table
from parkpal_lakehouse.io.writers import replace_where


def test_conflicts_are_retried_with_growing_back_off_and_other_errors_are_not():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentAppendException(message="Files were added to partition [day=1] by a concurrent update")
        return "written"

    assert with_conflict_retries(flaky, attempts=5, what="test", sleep=sleeps.append) == "written"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0]

    def broken():
        raise ValueError("not a conflict")

    with pytest.raises(ValueError):
        with_conflict_retries(broken, attempts=5, what="test", sleep=sleeps.append)
    assert len(sleeps) == 2  # no retry for a real error
    def always_conflicts():
        calls.append(1)
        raise ConcurrentAppendException(message="again")

    calls.clear()
    with pytest.raises(ConcurrentAppendException):
        with_conflict_retries(always_conflicts, attempts=2, what="test", sleep=lambda _s: None)
    assert len(calls) == 2  # gives up after the last attempt
    assert is_conflict(RuntimeError("py4j: io.delta.exceptions.ConcurrentDeleteReadException: ..."))


def test_two_writers_replacing_the_same_range_both_land(spark, lakehouse):
    """Two threads overwrite the same rows over and over; every write lands (after retries if Delta made
    one lose), and the table ends holding exactly one writer's rows."""
    table = "gold.conflict_probe"
    create_table_if_missing(spark, lakehouse, table, "writer STRING, n INT, day INT", ("day",))
    errors: list[BaseException] = []
    done: list[str] = []

    def writer(name: str) -> None:
        try:
            for _ in range(4):
                rows = spark.createDataFrame([(name, i, 1) for i in range(5)], "writer STRING, n INT, day INT")
                with_conflict_retries(lambda r=rows: replace_where(r, lakehouse, table, "day = 1", ("day",)),
                                      attempts=8, what=name, base_delay_s=0.2)
                done.append(name)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and sorted(done) == ["a"] * 4 + ["b"] * 4
    final = read_table(spark, lakehouse, table).collect()
    assert len(final) == 5 and len({r.writer for r in final}) == 1
