"""The pipeline steps, each defined once: `STEPS` maps console script -> `Step`.

The CLI's `parkpal <group> <step>` subcommands, the `[project.scripts]` entry points the bundle's wheel
tasks call (steps/entry_points.py) and the notebooks' widgets (jobs/notebooks.py) are all made from
these definitions (steps/step.py says how).
"""

from __future__ import annotations

from parkpal_lakehouse.steps import forecast, gold, silver
from parkpal_lakehouse.steps.step import Step

STEPS: dict[str, Step] = {s.script: s for s in (*silver.STEPS, *gold.STEPS, *forecast.STEPS)}

__all__ = ["STEPS", "Step"]
