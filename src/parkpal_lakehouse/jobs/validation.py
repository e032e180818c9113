"""`parkpal jobs validate`: what `databricks bundle validate` checks offline, and what only we know.

- every job, resolved for every target, against Databricks' typed job model (`databricks-bundles`:
  unknown fields, wrong types and enum values are errors);
- every variable has a value in every target; `${...}` references resolve;
- tasks form a DAG of known tasks on declared job clusters;
- each wheel task's entry point is in pyproject's `[project.scripts]`, points at a real function and
  understands the task's parameters; every job parameter is read by some task;
- each notebook exists in Databricks source format inside the synced folders;
- schedules are valid Quartz cron in a real time zone; operations policy: one run at a time, failure
  notifications, timeouts, retries with a back-off; dev/prod targets as the platform expects.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

from databricks.bundles.jobs import Job

from parkpal_lakehouse.jobs.bundle import (
    BundleError,
    BundleSource,
    JobSpec,
    Lookup,
    Resolver,
    TaskSpec,
    load_bundle,
    resolve_job,
    target_variables,
    task_order,
)
from parkpal_lakehouse.jobs.notebooks import NOTEBOOK_HEADER
from parkpal_lakehouse.jobs.schedule import cron_problems, timezone_problems
from parkpal_lakehouse.steps import STEPS

PACKAGE = "parkpal_lakehouse"
TOP_LEVEL_KEYS = {"bundle", "include", "sync", "artifacts", "variables", "targets", "resources", "workspace",
                  "permissions", "run_as", "presets", "experimental", "scripts", "python"}
MIN_RETRY_INTERVAL_MS = 60_000


def project_scripts(bundle: BundleSource) -> dict[str, str]:
    """`[project.scripts]` of the project the bundle's wheel artifact is built from."""
    artifacts = (bundle.document.get("artifacts") or {}).values()
    folder = next((bundle.root / a.get("path", ".") for a in artifacts if a.get("type") == "whl"), bundle.root)
    pyproject = (folder / "pyproject.toml").resolve()
    if not pyproject.is_file():
        raise BundleError(f"the wheel artifact's folder {folder.resolve()} has no pyproject.toml")
    return tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {})


def _function_exists(target: str) -> bool:
    module, _, name = target.partition(":")
    try:
        return callable(getattr(importlib.import_module(module), name, None))
    except ImportError:
        return False


_NOTEBOOK_STEP = re.compile(r"run_step_from_widgets\(\s*dbutils\s*,\s*[\"']([\w-]+)[\"']")


def notebook_step(path: Path) -> str | None:
    """The step a thin notebook runs (`run_step_from_widgets(dbutils, "<script>")`), if any."""
    found = _NOTEBOOK_STEP.search(path.read_text()) if path.is_file() else None
    return found.group(1) if found else None


def _task_parameters(task: TaskSpec) -> tuple[str | None, dict[str, str]]:
    if task.kind == "python_wheel_task":
        return task.entry_point, task.named_parameters
    if task.kind == "notebook_task" and task.notebook:
        return notebook_step(task.notebook), task.base_parameters
    return None, {}


def _wheel_problems(job: JobSpec, scripts: dict[str, str], dist: Path) -> list[str]:
    problems, read = [], set()
    for raw, task in zip(job.spec.get("tasks") or [], job.tasks, strict=True):
        where = f"job {job.key} task {task.key}"
        for library in raw.get("libraries") or []:
            if "whl" in library and (job.source.parent / library["whl"]).resolve().parent != dist:
                problems.append(f"{where}: library {library['whl']} is not the wheel the bundle builds ({dist}/*.whl)")
        if task.kind == "python_wheel_task":
            if task.package != PACKAGE:
                problems.append(f"{where}: package_name {task.package!r}, expected {PACKAGE}")
            if task.entry_point not in scripts:
                problems.append(f"{where}: entry point {task.entry_point!r} is not in pyproject.toml [project.scripts]")
                continue
            if not _function_exists(scripts[task.entry_point]):
                problems.append(f"{where}: {task.entry_point} = {scripts[task.entry_point]!r} is not importable")
        script, given = _task_parameters(task)
        if script is None:
            continue
        if script not in STEPS:
            problems.append(f"{where}: {script!r} is not a job step")
            continue
        accepted = set(STEPS[script].parameter_names())
        read |= accepted
        unknown = sorted(set(given) - accepted)
        if unknown:
            problems.append(f"{where}: {script} does not read parameter(s) {', '.join(unknown)}")
    for task in job.tasks:
        read |= {p for v in task.named_parameters.values() for p in job.parameters
                 if f"{{{{job.parameters.{p}}}}}" in v.replace(" ", "")}
    problems += [f"job {job.key}: parameter {p} is read by no task" for p in sorted(set(job.parameters) - read)]
    return problems


def _notebook_problems(job: JobSpec, bundle: BundleSource) -> list[str]:
    synced = [bundle.root, *((bundle.root / p).resolve() for p in (bundle.document.get("sync") or {}).get("paths", []))]
    problems = []
    for task in job.tasks:
        if task.kind != "notebook_task" or task.notebook is None:
            continue
        where = f"job {job.key} task {task.key}"
        if not task.notebook.is_file():
            problems.append(f"{where}: notebook {task.notebook} does not exist")
        elif not task.notebook.read_text().startswith(NOTEBOOK_HEADER):
            problems.append(f"{where}: {task.notebook} is not a Databricks source-format notebook")
        if not any(task.notebook.is_relative_to(folder) for folder in synced):
            problems.append(f"{where}: {task.notebook} is outside the bundle's synced folders")
    return problems


def _operations_problems(job: JobSpec) -> list[str]:
    spec, where = job.spec, f"job {job.key}"
    problems = []
    if spec.get("max_concurrent_runs") != 1:
        problems.append(f"{where}: max_concurrent_runs must be 1 (runs of one job must not overlap)")
    if "on_failure" not in (spec.get("email_notifications") or {}):
        problems.append(f"{where}: no email_notifications.on_failure")
    schedule = spec.get("schedule")
    if schedule:
        problems += [f"{where}: {p}" for p in cron_problems(schedule.get("quartz_cron_expression", ""))]
        problems += [f"{where}: {p}" for p in timezone_problems(schedule.get("timezone_id", ""))]
    if "continuous" in spec:
        if schedule:
            problems.append(f"{where}: a continuous job has no schedule")
        problems += [f"{where} task {t['task_key']}: continuous jobs retry by themselves; no max_retries"
                     for t in spec.get("tasks") or [] if "max_retries" in t]
    elif not spec.get("timeout_seconds"):
        problems.append(f"{where}: a triggered job needs timeout_seconds")
    clusters = {c["job_cluster_key"] for c in spec.get("job_clusters") or []}
    for task in spec.get("tasks") or []:
        if task.get("job_cluster_key") and task["job_cluster_key"] not in clusters:
            problems.append(f"{where} task {task['task_key']}: unknown job_cluster_key {task['job_cluster_key']}")
        if task.get("max_retries", 0) and task.get("min_retry_interval_millis", 0) < MIN_RETRY_INTERVAL_MS:
            problems.append(f"{where} task {task['task_key']}: retries need min_retry_interval_millis >= "
                            f"{MIN_RETRY_INTERVAL_MS} (a back-off)")
    return problems


def _target_problems(bundle: BundleSource) -> list[str]:
    targets: dict[str, Any] = bundle.document.get("targets") or {}
    problems = []
    dev, prod = targets.get("dev") or {}, targets.get("prod") or {}
    if dev.get("mode") != "development" or not dev.get("default"):
        problems.append("target dev must be the default, in development mode")
    if "${workspace.current_user.short_name}" not in str((dev.get("variables") or {}).get("schema_prefix")):
        problems.append("target dev must give each user their own schemas (schema_prefix)")
    if prod.get("mode") != "production" or not prod.get("run_as") or not prod.get("permissions"):
        problems.append("target prod must be in production mode with run_as and permissions")
    if not (prod.get("workspace") or {}).get("root_path"):
        problems.append("target prod needs a fixed workspace.root_path")
    return problems


def _endpoint_problems(bundle: BundleSource, target: str) -> list[str]:
    """Each serving endpoint, resolved for `target`, against Databricks' own endpoint model, and what we
    require of the forecaster's: scale to zero, the registered model the training job writes, a version."""
    from databricks.bundles.model_serving_endpoints import ModelServingEndpoint

    problems: list[str] = []
    try:  # values the CLI looks up in the workspace at deploy time stand in as placeholders here
        lookups = {name: f"<lookup {name}>" for name, value in target_variables(bundle, target).items()
                   if isinstance(value, Lookup)}
        resolver = Resolver(bundle, target, lookups)
    except BundleError:
        return problems  # a target without its variables: the jobs' check below says which
    for key, raw in sorted(bundle.serving_endpoints.items()):
        where = f"target {target} serving endpoint {key}"
        try:
            spec = resolver.resolve(raw)
            ModelServingEndpoint.from_dict(spec)  # type: ignore[arg-type]
        except (BundleError, ValueError, TypeError, KeyError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        entities = (spec.get("config") or {}).get("served_entities") or []
        model = resolver.resolve("${var.catalog}.${var.schema_prefix}gold.occupancy_forecaster")
        for entity in entities:
            if not entity.get("scale_to_zero_enabled"):
                problems.append(f"{where}: served entity {entity.get('name')} must scale to zero when idle")
            if entity.get("entity_name") != model:
                problems.append(f"{where}: serves {entity.get('entity_name')!r}, not the forecaster the training job "
                                f"registers ({model!r})")
            if not str(entity.get("entity_version", "")).isdigit():
                problems.append(f"{where}: entity_version must be a registered version number, not "
                                f"{entity.get('entity_version')!r}")
            store = (entity.get("environment_vars") or {}).get("PARKPAL_FEATURE_STORE", "")
            if not store.startswith("databricks-sql://") or not store.endswith("gold.zone_forecast_features"):
                problems.append(f"{where}: PARKPAL_FEATURE_STORE must name gold.zone_forecast_features through a "
                                f"warehouse (databricks-sql://<warehouse id>/<table>), not {store!r}")
        routes = ((spec.get("config") or {}).get("traffic_config") or {}).get("routes") or []
        if sum(int(r.get("traffic_percentage", 0)) for r in routes) != 100:
            problems.append(f"{where}: traffic routes must add up to 100%")
    return problems


def validate_bundle(path: str | Path | None = None) -> tuple[BundleSource, list[str]]:
    """The bundle and everything wrong with it (empty: valid)."""
    bundle = load_bundle(path)
    problems = [f"{bundle.path.name}: unknown top-level key {k!r}" for k in bundle.document if k not in TOP_LEVEL_KEYS]
    problems += _target_problems(bundle)
    scripts = project_scripts(bundle)
    artifact = next(iter((bundle.document.get("artifacts") or {}).values()), {})
    dist = (bundle.root / artifact.get("path", ".") / "dist").resolve()
    for target in bundle.targets:
        problems += _endpoint_problems(bundle, target)
        for key in sorted(bundle.jobs):
            try:
                job = resolve_job(bundle, key, target)
                Job.from_dict(job.spec)  # type: ignore[arg-type]
                task_order(job)
            except (BundleError, ValueError, TypeError, KeyError) as exc:
                problems.append(f"target {target} job {key}: {exc}")
                continue
            if target == bundle.targets[0]:  # the rest does not depend on the target
                problems += _wheel_problems(job, scripts, dist) + _notebook_problems(job, bundle)
                problems += _operations_problems(job)
    return bundle, problems
