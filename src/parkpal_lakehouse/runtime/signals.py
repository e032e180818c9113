"""Stopping long work cleanly on SIGTERM / SIGINT (a cancelled job, Ctrl-C)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def stop_on_signals(progress: Callable[[str], None] = print) -> threading.Event:
    """An event set by SIGTERM or SIGINT (a cancelled job, Ctrl-C): `run_ingestion(stop=...)` then ends
    the queries after their current micro-batch instead of dying mid-batch."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        progress(f"{signal.Signals(signum).name}: stopping the queries after their current batch")
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    return stop
