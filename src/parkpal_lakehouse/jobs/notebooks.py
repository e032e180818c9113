"""Notebooks: widgets -> the same step a wheel task runs, and a local stand-in to execute them.

`notebooks/*.py` are Databricks source-format notebooks. Each declares one widget per parameter of
its step (`declare_widgets`) and runs the step with the widgets' values (`run_step_from_widgets`).
`run_notebook` executes such a file here: cells split at `# COMMAND ----------`, magic cells (`%md`,
`%pip`) skipped, with a `dbutils` whose widgets hold the given parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from parkpal_lakehouse.config import SecretRef
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps.step import progress

NOTEBOOK_HEADER = "# Databricks notebook source"
CELL_SEPARATOR = "# COMMAND ----------"


class NotebookError(ParkPalError):
    """A notebook is not in Databricks source format, or uses a widget it never declared."""


def _step(script: str):
    if script not in STEPS:
        raise NotebookError(f"no job step {script!r}; steps: {', '.join(STEPS)}")
    return STEPS[script]


def declare_widgets(dbutils: Any, script: str) -> None:
    """One text widget per option of step `script`, defaulting as the step does."""
    for option in _step(script).all_options:
        dbutils.widgets.text(option.name, option.widget_default(), option.name)


def run_step_from_widgets(dbutils: Any, script: str) -> None:
    """Run step `script` with the widgets' values (a failure raises, failing the notebook)."""
    step = _step(script)
    code = step([f"--{name}={dbutils.widgets.get(name)}" for name in step.parameter_names()], progress, "notebook")
    if code:
        raise SystemExit(code)


# --- a local stand-in for Databricks' notebook globals ----------------------------------------------------
class NotebookExit(Exception):  # noqa: N818 (it is dbutils.notebook.exit's control flow, not an error)
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class LocalWidgets:
    """`dbutils.widgets`: values given by the run (job or base parameters) win over declared defaults."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._given = dict(values)
        self._declared: dict[str, str] = {}

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:  # noqa: N803 (Databricks' names)
        self._declared[name] = defaultValue

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:  # noqa: N803
        value = self._given.get(name, defaultValue)
        if value not in choices:
            raise NotebookError(f"widget {name}: {value!r} is not one of {', '.join(choices)}")
        self._declared[name] = defaultValue

    def get(self, name: str) -> str:
        if name not in self._declared and name not in self._given:
            raise NotebookError(f"no input widget named {name} is defined")
        return self._given.get(name, self._declared.get(name, ""))

    def getAll(self) -> dict[str, str]:  # noqa: N802
        return {**self._declared, **self._given}

    def removeAll(self) -> None:  # noqa: N802
        self._declared.clear()


class LocalSecrets:
    def get(self, scope: str, key: str) -> str:
        return SecretRef(scope, key).resolve()


class LocalNotebook:
    def exit(self, value: str) -> None:
        raise NotebookExit(value)


class LocalDbutils:
    def __init__(self, parameters: Mapping[str, str]) -> None:
        self.widgets = LocalWidgets(parameters)
        self.secrets = LocalSecrets()
        self.notebook = LocalNotebook()


def notebook_cells(path: Path) -> list[str]:
    """The Python cells of a Databricks source-format notebook (magic cells left out)."""
    text = path.read_text()
    if not text.startswith(NOTEBOOK_HEADER):
        raise NotebookError(f"{path} does not start with {NOTEBOOK_HEADER!r}")
    cells = [c.strip("\n") for c in text[len(NOTEBOOK_HEADER):].split(CELL_SEPARATOR)]
    return [c for c in cells if c.strip() and not c.lstrip().startswith("# MAGIC")]


def _display(value: Any) -> None:
    show = getattr(value, "show", None)
    show(truncate=False) if callable(show) else print(value)


def run_notebook(path: str | Path, parameters: Mapping[str, str] | None = None) -> str | None:
    """Execute notebook `path` with widget values `parameters`; returns its `dbutils.notebook.exit` value."""
    from pyspark.sql import SparkSession

    path = Path(path)
    namespace: dict[str, Any] = {"__name__": "__main__", "dbutils": LocalDbutils(parameters or {}),
                                 "spark": SparkSession.getActiveSession(), "display": _display}
    try:
        for number, cell in enumerate(notebook_cells(path), start=1):
            exec(compile(cell, f"{path}#cell{number}", "exec"), namespace)  # noqa: S102 (running the notebook is the point)
    except NotebookExit as done:
        return done.value
    return None
