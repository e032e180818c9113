"""docs/queries.sql runs against gold, and the grants SQL keeps analysts on gold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from parkpal_lakehouse.runtime.session import register_local_catalog
from parkpal_lakehouse.serving.sql import run_sql

ROOT = Path(__file__).parents[2]


def statements(path: Path) -> list[str]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


@pytest.mark.slow
def test_every_documented_query_runs_and_returns_rows(spark, gold_city):
    config, _ = gold_city
    register_local_catalog(spark, config)  # the names point at the root registered last
    queries = statements(ROOT / "docs" / "queries.sql")
    assert len(queries) >= 8
    for query in queries:
        result = run_sql(spark, query, max_rows=1000)
        assert result.rows, f"no rows from:\n{query}"


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
