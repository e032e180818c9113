"""`parkpal sql serve`: Spark's Thrift server over the local catalog, queried by a real JDBC client
(Hive's beeline, from the jars pyspark ships) with the documented example queries."""

from __future__ import annotations

import csv
import io
import socket
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from parkpal_lakehouse.runtime.session import register_local_catalog
from parkpal_lakehouse.serving.sql import run_sql
from parkpal_lakehouse.serving.sql_endpoint import SqlEndpointError, run_beeline, start_sql_endpoint
from tests.gold.test_queries import statements

pytestmark = pytest.mark.integration
QUERIES = Path(__file__).parents[2] / "docs" / "queries.sql"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(spark, gold_city):
    config, _ = gold_city
    register_local_catalog(spark, config)
    handle = start_sql_endpoint(spark, "127.0.0.1", _free_port())
    yield handle
    handle.stop()


def _blocks(output: str, headers: list[list[str]]) -> list[list[list[str]]]:
    """Split beeline's csv2 output into one block of rows per statement, at each expected header."""
    rows = [r for r in csv.reader(io.StringIO(output)) if r]
    blocks: list[list[list[str]]] = []
    for row in rows:
        if len(blocks) < len(headers) and row == headers[len(blocks)]:
            blocks.append([])
        elif blocks:
            blocks[-1].append(row)
    return blocks


def _canonical(value: object) -> str:
    """A Spark value as text that beeline's rendering of it also reduces to."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float | Decimal):
        return f"{float(value):.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _canonical_cell(cell: str, like: object) -> str:
    """beeline's csv2 text of a cell, reduced like `_canonical` reduces the Spark value of that column."""
    if cell in ("", "NULL"):
        return "NULL"
    if isinstance(like, float | Decimal):
        return f"{float(cell):.6g}"
    if isinstance(like, datetime):
        return cell[:19]
    return cell


@pytest.mark.slow
def test_beeline_runs_every_documented_query_through_the_endpoint(spark, endpoint):
    queries = statements(QUERIES)
    expected = [run_sql(spark, q, max_rows=100_000) for q in queries]
    result = run_beeline(endpoint.jdbc_url, sql_file=QUERIES)
    assert result.returncode == 0, result.stderr[-2000:]
    blocks = _blocks(result.stdout, [e.columns for e in expected])
    assert len(blocks) == len(queries) >= 8
    for query, want, got in zip(queries, expected, blocks, strict=True):
        assert len(got) == len(want.rows) > 0, query
        # column by column, a sample Spark value tells how to read beeline's text
        likes = [next((r[i] for r in want.rows if r[i] is not None), None) for i in range(len(want.columns))]
        spark_rows = sorted(tuple(_canonical(v) for v in row) for row in want.rows)
        beeline_rows = sorted(tuple(_canonical_cell(c, like) for c, like in zip(row, likes, strict=True))
                              for row in got)
        assert beeline_rows == spark_rows, query


def test_beeline_sees_gold_by_name_with_the_same_values_as_spark(spark, endpoint):
    statement = ("SELECT zone_type, COUNT(*) AS zones, SUM(capacity) AS capacity FROM gold.dim_zone "
                 "WHERE is_current GROUP BY zone_type ORDER BY zone_type")
    result = run_beeline(endpoint.jdbc_url, statement=statement + ";")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r for r in csv.reader(io.StringIO(result.stdout)) if r]
    want = run_sql(spark, statement)
    assert rows[0] == want.columns
    assert rows[1:] == [[str(v) for v in row] for row in want.rows]
    tables = run_beeline(endpoint.jdbc_url, statement="SHOW TABLES IN gold;")
    names = {r[1] for r in csv.reader(io.StringIO(tables.stdout)) if len(r) > 1}
    assert {"zone_metrics_hourly", "dim_zone", "v_busiest_zones", "v_occupancy_heatmap"} <= names


def test_a_bad_statement_is_an_error_for_the_client_not_the_endpoint(endpoint):
    bad = run_beeline(endpoint.jdbc_url, statement="SELECT nope FROM gold.dim_zone;")
    assert bad.returncode != 0 and "nope" in bad.stderr
    good = run_beeline(endpoint.jdbc_url, statement="SELECT COUNT(*) AS n FROM gold.zone_metrics_hourly;")
    assert good.returncode == 0 and int(good.stdout.split()[1]) > 0


def test_a_port_in_use_is_a_one_line_error(spark, endpoint):
    with pytest.raises(SqlEndpointError, match=f"127.0.0.1:{endpoint.port} is already in use"):
        start_sql_endpoint(spark, "127.0.0.1", endpoint.port)
    with pytest.raises(SqlEndpointError, match="must be 1-65535"):
        start_sql_endpoint(spark, "127.0.0.1", 70000)
