"""Shared helpers for the benchmark scripts: wall time and peak memory of a step."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from parkpal_lakehouse.runtime.clock import use_utc

T = TypeVar("T")
use_utc()  # every benchmark imports this first: instants as the pipeline's doors see them (runtime/clock.py)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(step: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def jvm_seconds(spark) -> tuple[float, float]:
    """(CPU seconds of the session's JVM process so far, all its threads; seconds HotSpot spent compiling)."""
    jvm = spark.sparkContext._jvm
    pid = jvm.java.lang.ProcessHandle.current().pid()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return cpu, jvm.java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime() / 1000
