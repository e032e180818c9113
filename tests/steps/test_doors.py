"""Each step is reached the same way through its three doors: the `parkpal` subcommand, the
`[project.scripts]` entry point (the bundle's wheel tasks) and the notebook (its widgets)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from parkpal_lakehouse.cli import build_parser
from parkpal_lakehouse.jobs.bundle import load_bundle, resolve_job
from parkpal_lakehouse.jobs.notebooks import LocalDbutils, declare_widgets
from parkpal_lakehouse.jobs.validation import notebook_step
from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps import entry_points as entry_points_module
from parkpal_lakehouse.steps.step import fill_defaults

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def _bundle_tasks() -> dict[str, list[tuple[str, dict[str, str]]]]:
    """script -> [(job.task, the parameters the task gives)] over every job of the bundle."""
    bundle = load_bundle(REPO / "jobs" / "databricks.yml")
    tasks: dict[str, list] = {}
    for key in bundle.jobs:
        job = resolve_job(bundle, key, "local")
        for task in job.tasks:
            script = task.entry_point if task.kind == "python_wheel_task" else notebook_step(task.notebook)
            given = task.named_parameters if task.kind == "python_wheel_task" else task.base_parameters
            tasks.setdefault(script, []).append((f"{key}.{task.key}", dict(given)))
    return tasks


BUNDLE_TASKS = _bundle_tasks()


def _required(step) -> list[str]:
    return [f"--{o.name}=2026-11-02T00:00" for o in step.options if o.required]


@pytest.mark.parametrize("script", sorted(STEPS))
def test_the_cli_subcommand_runs_the_step_with_its_options(script):
    step = STEPS[script]
    args = build_parser().parse_args([*step.command, "--root", "/somewhere", *_required(step)])
    assert args.step is step
    assert set(step.parameter_names()) <= set(vars(args))
    assert args.storage_root == "/somewhere"


@pytest.mark.parametrize("script", sorted(STEPS))
def test_the_entry_point_is_the_step(script):
    step = STEPS[script]
    assert SCRIPTS[script] == f"parkpal_lakehouse.steps.entry_points:{step.function}"
    assert getattr(entry_points_module, step.function).step is step


@pytest.mark.parametrize("script", sorted(STEPS))
def test_the_notebook_declares_the_steps_options(script):
    step = STEPS[script]
    notebook = REPO / "notebooks" / f"{step.function}.py"
    assert notebook_step(notebook) == script
    dbutils = LocalDbutils({})
    declare_widgets(dbutils, script)
    assert sorted(dbutils.widgets.getAll()) == sorted(step.parameter_names())


@pytest.mark.parametrize("script", sorted(STEPS))
def test_the_cli_and_the_job_build_the_same_config_from_the_same_values(script, tmp_path):
    step = STEPS[script]
    values = {"storage_root": str(tmp_path)}
    if "from" in step.parameter_names():
        values |= {"from": "2026-11-02T00:00", "to": "2026-11-02T06:00"}
    cli = build_parser().parse_args([*step.command, *(f"--{k.replace('_', '-')}={v}" for k, v in values.items())])
    job = step.parser().parse_args([f"--{k}={v}" for k, v in values.items()])
    fill_defaults(cli, step.all_options)
    assert {k: vars(cli)[k] for k in step.parameter_names()} == vars(job)
    assert step.config(cli, door="cli") == step.config(job, door="job")


def test_every_bundle_task_runs_a_step_with_its_own_options():
    assert set(BUNDLE_TASKS) <= set(STEPS)
    for script, tasks in BUNDLE_TASKS.items():
        for where, given in tasks:
            assert set(given) <= set(STEPS[script].parameter_names()), where


def test_every_script_and_notebook_belongs_to_a_step():
    steps = {s for s in SCRIPTS if s != "parkpal"}
    assert steps == set(STEPS)
    notebooks = {notebook_step(p) for p in (REPO / "notebooks").glob("*.py")}
    assert notebooks == set(STEPS)


def test_a_switch_reads_the_same_from_a_person_and_a_job():
    step = STEPS["parkpal-gold-hourly"]
    cli = build_parser().parse_args(["hourly", "--no-optimize"])
    assert cli.no_optimize is True
    assert step.parser().parse_args(["--no_optimize=true"]).no_optimize is True
    assert step.parser().parse_args(["--no_optimize=false"]).no_optimize is False
    assert step.parser().parse_args(["--no_optimize="]).no_optimize is False  # empty job parameter: not given
