"""DataFrame helpers shared by the layers."""

from __future__ import annotations

from typing import Any

from pyspark.errors import PySparkAssertionError
from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F


def kept_with(df: DataFrame, **figures: Column) -> tuple[DataFrame, dict[str, Any]]:
    """`df` kept (`localCheckpoint`) and `figures` (aggregate columns by name) over its rows, computed by the job
    that keeps it (an `Observation` on the checkpoint's action) instead of by an aggregate after it, which took
    one or two Spark jobs more (two with adaptive execution: a shuffle stage and the result). At a micro-batch's
    size every Spark job costs ~0.1 s of fixed driver work whatever its rows (issue 21)."""
    named = [column.alias(name) for name, column in figures.items()]
    observation = Observation()
    kept = df.observe(observation, *named).localCheckpoint()
    try:
        return kept, observation.get
    except PySparkAssertionError:  # Spark Connect (PySpark 4.2) runs a checkpoint without returning observed metrics
        return kept, kept.agg(*named).first().asDict()


def kept_and_counted(df: DataFrame) -> tuple[DataFrame, int]:
    """`df` kept and its number of rows (`kept_with`): silver's expectations and each hourly gold range need it."""
    kept, figures = kept_with(df, rows=F.count(F.lit(1)))
    return kept, int(figures["rows"])
