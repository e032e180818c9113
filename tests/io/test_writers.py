"""`side_by_side`: independent writes (or reads) at once, results in order, errors raised after all have ended."""

from __future__ import annotations

import threading
import time

import pytest

from parkpal_lakehouse.io.writers import side_by_side


def test_the_writes_run_at_the_same_time(spark):
    # Each write waits for all three at a barrier: one after another, the first would time out.
    barrier, done = threading.Barrier(3, timeout=20), []
    side_by_side([lambda i=i: (barrier.wait(), done.append(i)) for i in range(3)])
    assert sorted(done) == [0, 1, 2]


def test_results_come_back_in_the_order_the_tasks_were_given(spark):
    def later(value: str, seconds: float):
        return lambda: (time.sleep(seconds), value)[1]

    # the first given ends last: results still in the order given, not the order they ended
    assert side_by_side([later("grid", 0.4), later("sessions", 0.0), later("gate", 0.2)]) == [
        "grid", "sessions", "gate"]
    assert side_by_side([]) == []


def test_a_failed_write_is_raised_once_the_others_have_ended(spark):
    done = []

    def slow_events() -> None:
        time.sleep(0.3)
        done.append("events")

    def broken_quarantine() -> None:
        raise ValueError("quarantine write failed")

    with pytest.raises(ValueError, match="quarantine write failed"):
        side_by_side([broken_quarantine, slow_events, lambda: done.append("results")])
    assert sorted(done) == ["events", "results"]  # neither was cut short by the failure
