"""Retrying a Delta write that lost an optimistic-concurrency conflict.

Batch jobs (hourly gold, session repair, maintenance) run beside the streaming jobs. Delta lets blind
appends through, but a MERGE or replaceWhere that read files a concurrent commit changed fails with
one of Delta's `Concurrent*Exception`s; the whole read-compute-write step is then retried on the new
table version, with exponential back-off.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from delta import exceptions as delta_exceptions

log = logging.getLogger(__name__)

T = TypeVar("T")

CONFLICTS: tuple[type[BaseException], ...] = (
    delta_exceptions.DeltaConcurrentModificationException,
    delta_exceptions.ConcurrentWriteException,
    delta_exceptions.MetadataChangedException,
    delta_exceptions.ProtocolChangedException,
    delta_exceptions.ConcurrentAppendException,
    delta_exceptions.ConcurrentDeleteReadException,
    delta_exceptions.ConcurrentDeleteDeleteException,
    delta_exceptions.ConcurrentTransactionException,
)


def is_conflict(error: BaseException) -> bool:
    return isinstance(error, CONFLICTS) or "io.delta.exceptions.Concurrent" in str(error)


def with_conflict_retries(step: Callable[[], T], attempts: int, what: str, base_delay_s: float = 1.0,
                          sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `step`; when it fails on a Delta conflict, wait (1 s, 2 s, 4 s ... with jitter) and run it again,
    up to `attempts` times in all. Any other error, or the last conflict, propagates."""
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except Exception as error:
            if not is_conflict(error) or attempt == attempts:
                raise
            delay = base_delay_s * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)
            log.warning("%s: Delta conflict (%s), attempt %d/%d, retrying in %.1fs",
                        what, type(error).__name__, attempt, attempts, delay)
            sleep(delay)
    raise AssertionError("unreachable")
