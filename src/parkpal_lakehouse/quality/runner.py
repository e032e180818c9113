"""Run an expectation suite on a DataFrame with great-expectations and apply the policies."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import great_expectations as gx
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.columns import names_where
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.quality.expectations import Expectation, Policy

log = logging.getLogger(__name__)

QUALITY_RESULTS_DDL = (
    "suite STRING, table_name STRING, batch_id BIGINT, engine STRING, window_start TIMESTAMP, window_end TIMESTAMP, "
    "expectation STRING, expectation_type STRING, policy STRING, success BOOLEAN, element_count BIGINT, "
    "unexpected_count BIGINT, observed_value STRING, checked_at TIMESTAMP"
)


class QualityGateFailed(ParkPalError):
    """A `fail` expectation failed: the stream or job stops; nothing of the batch was written."""


@dataclass(frozen=True)
class QualityOutcome:
    kept: DataFrame
    dropped: DataFrame  # the rows `drop` expectations removed, with `quality_rules` (array<string>)
    results: list[dict[str, Any]]
    failed: list[str]  # names of failed `fail` expectations

    @property
    def warnings(self) -> list[str]:
        return [r["expectation"] for r in self.results if not r["success"] and r["policy"] == Policy.WARN]


@cache
def _context() -> Any:
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False}
    except Exception:  # older configs: progress bars are cosmetic
        log.debug("could not switch off great-expectations progress bars")
    return context


# Micro-batches up to this many rows are validated in pandas on the driver (the checked columns only,
# over Arrow): GX on Spark runs one Spark job per metric, ~3.5 s per batch on 2 cores whatever its size.
PANDAS_MAX_ROWS = 1_000_000


# Checks run side by side (silver's hubs, the gold audit's checks): one thread at a time makes the context or
# adds a definition to it, so two first calls neither make two contexts nor add the same definition twice.
_DEFINITIONS = threading.Lock()


def _validation(table: str, expectations: tuple[Expectation, ...], engine: str) -> Any:
    """The GX validation definition for this table, engine and exactly this suite (a changed suite is new)."""
    signature = ",".join(f"{e.name}:{e.policy.value}" for e in expectations)
    name = f"{table.replace('.', '__')}__{engine}__{hashlib.sha1(signature.encode()).hexdigest()[:10]}"
    with _DEFINITIONS:
        return _definition(_context(), name, expectations, engine)


def _definition(context: Any, name: str, expectations: tuple[Expectation, ...], engine: str) -> Any:
    try:
        return context.validation_definitions.get(name)
    except Exception:
        source = (context.data_sources.add_or_update_spark(name=f"src_{name}") if engine == "spark"
                  else context.data_sources.add_or_update_pandas(name=f"src_{name}"))
        batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for expectation in expectations:
            gx_expectation = expectation.build()
            gx_expectation.meta = {"name": expectation.name, "policy": expectation.policy.value}
            suite.add_expectation(gx_expectation)
        return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def check_quality(df: DataFrame, table: str, expectations: tuple[Expectation, ...], batch_id: int | None = None,
                  window: tuple[datetime, datetime] | None = None, rows: int | None = None) -> QualityOutcome:
    """Validate `df` (usually a persisted micro-batch) and split it by the `drop` expectations. `rows`: its
    number of rows when the caller has it already (`frames.kept_and_counted`); otherwise a Spark job counts
    them, to choose the engine.

    An empty batch (Spark runs one to advance a watermark) is not validated: a mean of nothing fails.
    """
    columns = sorted({e.build().column for e in expectations} & set(df.columns))
    rows = df.count() if rows is None else rows
    if rows == 0:
        return QualityOutcome(df, df.withColumn("quality_rules", F.array().cast("array<string>")), [], [])
    if rows <= PANDAS_MAX_ROWS:
        engine, data = "pandas", df.select(*columns).toPandas()
    else:
        engine, data = "spark", df
    result = _validation(table, expectations, engine).run(batch_parameters={"dataframe": data})
    by_name = {e.name: e for e in expectations}
    now = datetime.now(UTC)
    rows, failed = [], []
    for r in result.results:
        meta = r.expectation_config.meta or {}
        expectation = by_name[meta["name"]]
        detail = r.result or {}
        rows.append({
            "suite": table.replace(".", "__"), "table_name": table, "batch_id": batch_id, "engine": engine,
            "window_start": window[0] if window else None, "window_end": window[1] if window else None,
            "expectation": expectation.name, "expectation_type": r.expectation_config.type,
            "policy": expectation.policy.value, "success": bool(r.success),
            "element_count": detail.get("element_count"), "unexpected_count": detail.get("unexpected_count"),
            "observed_value": json.dumps(detail.get("observed_value", detail.get("partial_unexpected_list")),
                                         default=str),
            "checked_at": now,
        })
        if not r.success and expectation.policy is Policy.FAIL:
            failed.append(expectation.name)
    droppers = [e for e in expectations if e.policy is Policy.DROP and e.passes is not None]
    if not droppers:
        return QualityOutcome(df, df.limit(0).withColumn("quality_rules", F.array().cast("array<string>")), rows,
                              failed)
    reasons = names_where([(f"quality:{e.name}", ~F.coalesce(e.passes(), F.lit(False)))  # type: ignore[misc]
                           for e in droppers])
    flagged = df.withColumn("quality_rules", reasons)
    kept = flagged.filter(F.size("quality_rules") == 0).drop("quality_rules")
    dropped = flagged.filter(F.size("quality_rules") > 0)
    return QualityOutcome(kept, dropped, rows, failed)


def results_frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame(rows, QUALITY_RESULTS_DDL) if rows else spark.createDataFrame([], QUALITY_RESULTS_DDL)
