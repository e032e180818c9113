"""Column helpers shared by the layers."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F


def names_where(conditions: Sequence[tuple[str, Column]]) -> Column:
    """array<string> of the names whose condition is true, in their order; empty when none is.

    Joined with commas and split again rather than `array_compact(array(when(...)))`: `array_compact`
    is a higher-order function, which Spark evaluates row by row without generated code, and with it
    every condition beneath it. Measured on silver's contract rules (issue 21): each interpreted struct
    read built a new SQL conf on the executor, 10% of the parse's profile samples on its own.
    """
    for name, _ in conditions:
        if "," in name:
            raise ValueError(f"a rule name cannot contain a comma: {name!r}")
    joined = F.concat_ws(",", *[F.when(condition, F.lit(name)) for name, condition in conditions])
    return F.when(joined == "", F.array().cast("array<string>")).otherwise(F.split(joined, ","))
