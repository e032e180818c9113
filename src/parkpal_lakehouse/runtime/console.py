"""What the terminal shows: our progress and results. Libraries' logs go to a file under the root.

- `Console` is the `progress` callable every step takes: one timestamped line per event on stderr.
  On a terminal (stdout and stderr both a TTY) it also keeps a live status below those lines (rich):
  how long since the last event, each running streaming query (its micro-batch, rows so far, rate) and
  the Spark stage now running (tasks done of total). Elsewhere (CI logs, pipes, files) output stays
  plain lines, and a long silence gets a "still working" line every `heartbeat_s` seconds instead.
  What the watcher shows comes from Spark's own status (the streaming queries' progress and the status
  tracker), never from reading tables.
- `library_output_to(log_file)` (a context): Python logging of libraries (MLflow, py4j, great-expectations,
  alembic, ...) and warnings go to the file; so does the output of a local Spark JVM started after it
  (its warnings, log4j's console, the Python workers' prints), through `PARKPAL_LIBRARY_LOG`, which
  `runtime.session` reads, and what a library prints to stderr itself inside `library_stderr()` (MLflow's
  "Successfully registered model"). `--verbose` skips this and shows everything on the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

LIBRARY_LOG_ENV = "PARKPAL_LIBRARY_LOG"
LIBRARY_LOG = "parkpal.log"  # under <root>/logs/


def library_log_path(root: str | Path) -> Path:
    return Path(root) / "logs" / LIBRARY_LOG


@contextlib.contextmanager
def restored_environ(*keys: str) -> Iterator[None]:
    """For the block: `keys` of the environment may be changed; afterwards each is as before (unset again
    if it was unset)."""
    saved = {k: os.environ.get(k) for k in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def library_output_to(log_file: Path) -> Iterator[Path]:
    """For the block: libraries' Python logging and warnings go to `log_file`, and so does the output of a
    local JVM started inside it (`PARKPAL_LIBRARY_LOG`). Logging, warnings and the environment are as
    before afterwards (a JVM started inside keeps writing to the file: its output streams are its own)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    loggers = [root, *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    saved = [(lg, list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    showwarning = warnings.showwarning
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    with restored_environ(LIBRARY_LOG_ENV, "MLFLOW_CONFIGURE_LOGGING"):
        try:
            os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # MLflow imported later leaves logging to us
            for logger in loggers:
                terminal = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
                            and not isinstance(h, logging.FileHandler)]
                for old in terminal:
                    logger.removeHandler(old)  # e.g. MLflow's own stderr handler, if it was imported already
                if terminal and logger is not root:
                    logger.propagate = True  # what it logged to the terminal now reaches the file
            root.addHandler(handler)
            root.setLevel(logging.WARNING)  # libraries' warnings; MLflow's own INFO lines (it logs little) as well
            logging.getLogger("mlflow").setLevel(logging.INFO)
            logging.captureWarnings(True)
            os.environ[LIBRARY_LOG_ENV] = str(log_file)
            yield log_file
        finally:
            if warnings.showwarning is not showwarning:
                logging.captureWarnings(False)
            for logger, handlers, propagate, level in saved:
                logger.handlers[:] = handlers
                logger.propagate = propagate
                logger.setLevel(level)
            handler.close()


@contextlib.contextmanager
def jvm_output_to(log_file: str | None) -> Iterator[None]:
    """While starting a JVM: its stdout and stderr (inherited file descriptors 1 and 2) are `log_file`.
    Our own process's 1 and 2 are restored as soon as the JVM has started."""
    if not log_file:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with open(log_file, "ab") as out:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


@contextlib.contextmanager
def library_stderr() -> Iterator[None]:
    """Around a library call that prints to `sys.stderr` itself (MLflow's registration messages): into
    the library log while output is routed there, unchanged otherwise."""
    log_file = os.environ.get(LIBRARY_LOG_ENV)
    if not log_file:
        yield
        return
    with open(log_file, "a", encoding="utf-8") as out, contextlib.redirect_stderr(out):
        yield


def interactive(stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> bool:
    """A live display only when a person watches both streams (results on stdout stay on stdout)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if os.environ.get("TERM") == "dumb" or os.environ.get("CI"):
        return False
    return all(getattr(s, "isatty", lambda: False)() for s in (stdout, stderr))


def spark_activity(spark: SparkSession) -> list[str]:
    """What Spark is doing now, one line per running streaming query and one for the active stages."""
    lines = []
    for query in spark.streams.active:
        with contextlib.suppress(Exception):  # a query may stop between the listing and these calls
            progress = query.recentProgress
            rows = sum(p.numInputRows for p in progress)
            batch = (progress[-1].batchId + 1) if progress else 0
            rate = progress[-1].processedRowsPerSecond if progress else 0.0
            state = f"batch {batch} running" if query.status.get("isTriggerActive") else "waiting for data"
            lines.append(f"{query.name}: {state}; {rows:,} rows so far"
                         + (f", last batch {rate:,.0f} rows/s" if progress else ""))
    tracker = spark.sparkContext.statusTracker()
    stages = [s for s in (tracker.getStageInfo(i) for i in tracker.getActiveStageIds()) if s is not None]
    if stages:
        done = sum(s.numCompletedTasks for s in stages)
        total = sum(s.numTasks for s in stages)
        lines.append(f"Spark: {len(stages)} stage(s) running, tasks {done}/{total} done")
    return lines


class Console:
    """Progress events as lines on stderr, with a live status on a terminal (see the module doc)."""

    def __init__(self, live: bool | None = None, heartbeat_s: float = 30.0, stream: IO[str] | None = None) -> None:
        self.live = interactive() if live is None else live
        self.heartbeat_s = heartbeat_s
        self.stream = stream or sys.stderr  # fixed now: a library call may redirect sys.stderr for a while
        self._last_event = time.monotonic()
        self._last_text = ""
        self._lock = threading.Lock()
        self._rich = None

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        with self._lock:
            self._last_event = time.monotonic()
            self._last_text = message
        if self._rich is not None:
            self._rich.console.print(line, highlight=False, markup=False, soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)

    def _status(self, activity: list[str]) -> list[str]:
        with self._lock:
            quiet_for, last = time.monotonic() - self._last_event, self._last_text
        return [f"{quiet_for:.0f}s since: {last}", *(f"  {a}" for a in activity)]

    @contextlib.contextmanager
    def watching(self, spark: SparkSession | None, every_s: float = 1.0) -> Iterator[Console]:
        """While the block runs: the live status (terminal) or a heartbeat line after a long silence."""

        def activity() -> list[str]:
            if spark is None:
                return []
            try:
                return spark_activity(spark)
            except Exception:  # noqa: BLE001  - a status line must never break the work it describes
                return []

        if not self.live:
            def beat() -> None:
                with self._lock:
                    silent = time.monotonic() - self._last_event
                if silent >= self.heartbeat_s:
                    now = activity()
                    self("still working: " + "; ".join(now) if now
                         else f"still working ({silent:.0f}s since the last line)")

            with _ticking(every_s, beat, "parkpal-heartbeat"):
                yield self
            return

        from rich.console import Console as RichConsole
        from rich.console import Group
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.text import Text

        def line(text: str) -> Text:  # one screen line each, cut to the terminal's width
            return Text(text, style="dim", no_wrap=True, overflow="ellipsis")

        def render() -> Group:
            status = self._status(activity())
            return Group(Spinner("dots", line(status[0])), *(line(s) for s in status[1:]))

        with Live(render(), console=RichConsole(file=self.stream), transient=True, refresh_per_second=4) as live:
            self._rich = live
            try:
                with _ticking(every_s, lambda: live.update(render()), "parkpal-status"):
                    yield self
            finally:
                self._rich = None


@contextlib.contextmanager
def _ticking(every_s: float, tick: Callable[[], None], name: str) -> Iterator[None]:
    """Call `tick` every `every_s` seconds in a daemon thread while the block runs."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(every_s):
            tick()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
