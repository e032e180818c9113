"""`parkpal jobs run`: run a bundle job's tasks on this machine, as Databricks would run them.

The job is resolved for a target (default `local`) from the bundle itself; its tasks run in
dependency order in this process (one Spark session for all), each with the parameters Databricks
would give it: the job's parameters pushed down as `--name=value`, then the task's own, with
`{{job.parameters.*}}` references filled in. A failed task skips its dependents (`upstream_failed`).
Retries, timeouts and clusters are Databricks' business and are not imitated.
"""

from __future__ import annotations

import importlib.metadata
import re
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from parkpal_lakehouse.jobs.bundle import BundleError, JobSpec, TaskSpec, load_bundle, resolve_job, task_order
from parkpal_lakehouse.jobs.notebooks import run_notebook

_DYNAMIC = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
LOCAL_TARGET = "local"


def fill_dynamic_values(text: str, job: JobSpec, parameters: Mapping[str, str], started: datetime) -> str:
    """Databricks' `{{...}}` dynamic value references that a local run can know."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("job.parameters."):
            key = name.removeprefix("job.parameters.")
            if key not in parameters:
                raise BundleError(f"job {job.key}: {match.group(0)} names no job parameter")
            return parameters[key]
        known = {"job.name": job.name, "job.id": "local", "job.run_id": "local",
                 "job.start_time.iso_datetime": started.isoformat(timespec="seconds"),
                 "job.trigger.time.iso_datetime": started.isoformat(timespec="seconds"),
                 "job.trigger.type": "one_time"}
        if name not in known:
            raise BundleError(f"job {job.key}: dynamic value {match.group(0)} is not available in a local run")
        return known[name]

    return _DYNAMIC.sub(value, text)


def wheel_arguments(task: TaskSpec, job: JobSpec, parameters: Mapping[str, str], started: datetime) -> list[str]:
    """Job parameters first (pushed down to every keyword-argument wheel task), then the task's own."""
    named = {k: fill_dynamic_values(v, job, parameters, started) for k, v in task.named_parameters.items()}
    return [f"--{k}={v}" for k, v in parameters.items()] + [f"--{k}={v}" for k, v in named.items()]


def entry_point_function(task: TaskSpec) -> Callable[..., object]:
    """The installed console script a wheel task names, or a one-line error."""
    try:
        dist = importlib.metadata.distribution(task.package or "")
    except importlib.metadata.PackageNotFoundError:
        raise BundleError(f"task {task.key}: package {task.package!r} is not installed") from None
    found = [e for e in dist.entry_points if e.group == "console_scripts" and e.name == task.entry_point]
    if not found:
        raise BundleError(f"task {task.key}: entry point {task.entry_point!r} is not in {task.package}'s "
                          "[project.scripts] (pyproject.toml; reinstall with `make install` after adding one)")
    return found[0].load()


@dataclass
class TaskRun:
    key: str
    state: str  # succeeded | failed | upstream_failed | excluded
    seconds: float = 0.0
    exit_code: int = 0


@dataclass
class JobRun:
    job: str
    target: str
    tasks: list[TaskRun] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return all(t.state in ("succeeded", "excluded") for t in self.tasks)

    def lines(self) -> list[str]:
        done = "succeeded" if self.succeeded else "FAILED"
        return [f"job {self.job} (target {self.target}) {done}: "
                + ", ".join(f"{t.key} {t.state}" + (f" in {t.seconds:.0f}s" if t.state in ("succeeded", "failed")
                                                     else "") for t in self.tasks)]


def _exit_code(call: Callable[[], object]) -> int:
    try:
        call()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # a task's crash fails the task, as on Databricks, and is shown in full
        traceback.print_exc()
        return 1
    return 0


def run_job(job_key: str, target: str = LOCAL_TARGET, bundle_path: str | Path | None = None,
            variables: Mapping[str, str] | None = None, parameters: Mapping[str, str] | None = None,
            only: Iterable[str] | None = None, progress: Callable[[str], None] = print) -> JobRun:
    """Run job `job_key` of the bundle for `target`; `only` limits it to those tasks (a repair run)."""
    bundle = load_bundle(bundle_path)
    job = resolve_job(bundle, job_key, target, dict(variables or {}))
    unknown = sorted(set(parameters or {}) - set(job.parameters))
    if unknown:
        raise BundleError(f"job {job_key} has no parameter {', '.join(unknown)}; "
                          f"it has {', '.join(job.parameters) or 'none'}")
    values = {**job.parameters, **(parameters or {})}
    order = task_order(job)
    selected = set(only or [t.key for t in order])
    if selected - {t.key for t in order}:
        raise BundleError(f"job {job_key} has no task {', '.join(sorted(selected - {t.key for t in order}))}")
    for task in order:  # every entry point and notebook must exist before anything runs
        if task.kind == "python_wheel_task":
            entry_point_function(task)
        elif task.kind == "notebook_task" and not (task.notebook and task.notebook.is_file()):
            raise BundleError(f"task {task.key}: notebook {task.notebook} does not exist")
        elif task.kind not in ("python_wheel_task", "notebook_task"):
            raise BundleError(f"task {task.key}: a {task.kind} cannot run locally")
    started = datetime.now(UTC)
    run = JobRun(job_key, target)
    states: dict[str, str] = {}
    for task in order:
        if task.key not in selected:
            states[task.key] = "excluded"
        elif any(states.get(d) in ("failed", "upstream_failed") for d in task.depends_on):
            states[task.key] = "upstream_failed"
        if task.key in states:
            run.tasks.append(TaskRun(task.key, states[task.key]))
            continue
        clock = time.perf_counter()
        if task.kind == "python_wheel_task":
            arguments = wheel_arguments(task, job, values, started)
            progress(f"{job_key} > {task.key}: {task.entry_point} {' '.join(arguments)}")
            function = entry_point_function(task)
            code = _exit_code(lambda f=function, a=arguments: f(a))
        else:
            widgets = {**values, **{k: fill_dynamic_values(v, job, values, started)
                                    for k, v in task.base_parameters.items()}}
            progress(f"{job_key} > {task.key}: notebook {task.notebook}")
            code = _exit_code(lambda t=task, w=widgets: run_notebook(t.notebook, w))
        states[task.key] = "succeeded" if code == 0 else "failed"
        run.tasks.append(TaskRun(task.key, states[task.key], time.perf_counter() - clock, code))
        progress(f"{job_key} > {task.key}: {states[task.key]} in {time.perf_counter() - clock:.1f}s")
    return run
