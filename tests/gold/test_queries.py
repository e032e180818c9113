"""docs/queries.sql runs against gold, and the grants SQL keeps analysts on gold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parkpal_lakehouse.serving.sql import run_sql
from parkpal_lakehouse.steps.catalog import prepare_catalog

ROOT = Path(__file__).parents[2]


WEEKDAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}


def statements(path: Path) -> list[str]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


@pytest.mark.slow
def test_every_documented_query_runs_and_returns_rows(spark, gold_city):
    config, _ = gold_city
    prepare_catalog(spark, config)  # the names point at the root registered last
    queries = statements(ROOT / "docs" / "queries.sql")
    assert len(queries) >= 8
    results = []
    for query in queries:
        result = run_sql(spark, query, max_rows=1000)
        assert result.rows, f"no rows from:\n{query}"
        empty = {c for i, c in enumerate(result.columns) if all(r[i] is None for r in result.rows)}
        if WEEKDAYS & set(result.columns):  # the heat map's weekday columns: the small city has one or two days
            assert WEEKDAYS & set(result.columns) - empty, f"no weekday has a value in:\n{query}"
            empty -= WEEKDAYS
        assert not empty, f"column(s) {empty} are NULL in every row (a join that matched nothing?) of:\n{query}"
        results.append(result)
    # The revenue query (3) adds up to the gated zones' revenue in zone_metrics_hourly, operator by operator.
    metrics = spark.table("gold.zone_metrics_hourly").where("occupancy_source = 'gate'").toPandas()
    expected = metrics.groupby("operator").revenue.sum().round(2).to_dict()
    revenue = next(r for r, q in zip(results, queries, strict=True) if "AS revenue_php" in q)
    by_operator: dict[str, float] = {}
    for row in revenue.rows:
        by_operator[row[0]] = by_operator.get(row[0], 0.0) + float(row[4])
    assert by_operator.keys() == expected.keys()
    for operator, total in expected.items():
        assert by_operator[operator] == pytest.approx(total, abs=0.01 * len(revenue.rows))


def test_grants_give_analysts_gold_only():
    grants = statements(ROOT / "jobs" / "sql" / "grants.sql")
    analysts = [g for g in grants if g.startswith("GRANT") and "`${analysts}`" in g]
    on_schemas = [re.search(r"ON SCHEMA \S+?\}(\w+)", g) for g in analysts]
    assert {m.group(1) for m in on_schemas if m} == {"gold"}
    revoked = {re.search(r"\}(\w+) FROM `\$\{analysts\}`", g).group(1) for g in grants if g.startswith("REVOKE")}
    assert revoked == {"bronze", "silver", "ops"}
    engineers = {re.search(r"ON SCHEMA \S+?\}(\w+)", g).group(1) for g in grants
                 if g.startswith("GRANT") and "`${engineers}`" in g and "ON SCHEMA" in g}
    assert engineers == {"bronze", "silver", "gold", "ops"}
