"""`side_by_side`: a micro-batch's independent writes at once, errors raised after all have ended."""

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
