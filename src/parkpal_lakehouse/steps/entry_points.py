"""The `[project.scripts]` entry points (`parkpal-*`) of the steps: `pyproject.toml` names each one, a
bundle's `python_wheel_task.entry_point` calls it with the task's `--name=value` parameters."""

from __future__ import annotations

from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps.step import entry_point

_ENTRY_POINTS = {step.function: entry_point(step) for step in STEPS.values()}
globals().update(_ENTRY_POINTS)
__all__ = sorted(_ENTRY_POINTS)

