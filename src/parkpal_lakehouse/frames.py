"""DataFrame helpers shared by the layers."""

from __future__ import annotations

from pyspark.sql import DataFrame, Observation
from pyspark.sql import functions as F


def kept_and_counted(df: DataFrame) -> tuple[DataFrame, int]:
    """`df` kept (`localCheckpoint`) and its number of rows, counted by the job that keeps it (an `Observation`
    on the checkpoint's action) instead of by a `count()` after it, which took one or two Spark jobs more
    (two with adaptive execution: a shuffle stage and the result). Silver's expectations and each hourly gold
    range need the number; at a micro-batch's size every Spark job costs ~0.1 s of fixed driver work whatever
    its rows (issue 21)."""
    observation = Observation()
    kept = df.observe(observation, F.count(F.lit(1)).alias("rows")).localCheckpoint()
    return kept, int(observation.get["rows"])
