"""`parkpal sql serve` as an analyst and as an attacker reach it: its own process on a copy of the small
city's gold, queried by a real JDBC client (Hive's beeline, from the jars pyspark ships) with the
documented example queries, and refusing everything that is not an authenticated read of gold."""

from __future__ import annotations

import csv
import io
import signal
import socket
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import copy_city
from delta.tables import DeltaTable

from parkpal_lakehouse.serving.sql import run_sql
from parkpal_lakehouse.serving.sql_endpoint import (
    DEFAULT_USER,
    SqlEndpointError,
    beeline_command,
    password_file,
    run_beeline,
    set_password,
    start_sql_endpoint,
)
from parkpal_lakehouse.steps.catalog import prepare_catalog
from tests.gold.test_queries import statements
from tests.support.servers import announced_lines

pytestmark = pytest.mark.integration
QUERIES = Path(__file__).parents[2] / "docs" / "queries.sql"
PARKPAL = str(Path(sys.executable).parent / "parkpal")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Endpoint:
    def __init__(self, config, port: int, lines: list[str]) -> None:
        self.config, self.port, self.lines = config, port, lines
        self.jdbc_url = f"jdbc:hive2://127.0.0.1:{port}/default"
        self.password = password_file(config, "analyst")

    def beeline(self, **kwargs) -> subprocess.CompletedProcess[str]:
        return run_beeline(self.jdbc_url, password_file=self.password, **kwargs)

    def start_beeline(self, **kwargs) -> subprocess.Popen[str]:
        """`beeline` left running (its output read by `communicate`), so that the test does its own work meanwhile."""
        command = beeline_command(self.jdbc_url, user=DEFAULT_USER, password_file=self.password, **kwargs)
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True)


@pytest.fixture(scope="module")
def endpoint(spark, gold_city, tmp_path_factory):
    """`parkpal sql serve` in its own process over a copy of gold; the test session reads the original."""
    config, _ = gold_city
    prepare_catalog(spark, config)
    served = copy_city(Path(config.storage_root), tmp_path_factory.mktemp("sql") / "city")
    port = _free_port()
    # stderr to a file: a pipe nobody reads fills up and blocks the server
    log = (tmp_path_factory.mktemp("sql-log") / "stderr.txt").open("w")
    server = subprocess.Popen([PARKPAL, "sql", "serve", "--root", served.storage_root, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=log, text=True)
    lines = announced_lines(server)
    assert lines and lines[-1].startswith("try:"), (lines, server.poll(), Path(log.name).read_text()[-2000:])
    yield Endpoint(served, port, lines)
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=120) == 0
    log.close()
    assert "Exception" not in Path(log.name).read_text()  # refusals are logged to <root>/logs, not the terminal


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
    # beeline and the server run the file while this session computes the same queries (issue 21: the two
    # had run one after the other; the server reads its own copy of gold)
    beeline = endpoint.start_beeline(sql_file=QUERIES)
    try:
        queries = statements(QUERIES)
        expected = [run_sql(spark, q, max_rows=100_000) for q in queries]
        stdout, stderr = beeline.communicate(timeout=300)
    finally:
        beeline.kill()
    assert beeline.returncode == 0, stderr[-2000:]
    blocks = _blocks(stdout, [e.columns for e in expected])
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
    result = endpoint.beeline(statement=statement + ";")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [r for r in csv.reader(io.StringIO(result.stdout)) if r]
    want = run_sql(spark, statement)
    assert rows[0] == want.columns
    assert rows[1:] == [[str(v) for v in row] for row in want.rows]
    tables = endpoint.beeline(statement="SHOW TABLES IN gold;")
    names = {r[1] for r in csv.reader(io.StringIO(tables.stdout)) if len(r) > 1}
    assert {"zone_metrics_hourly", "dim_zone", "v_busiest_zones", "v_occupancy_heatmap"} <= names


def test_a_bad_statement_is_an_error_for_the_client_not_the_endpoint(endpoint):
    bad = endpoint.beeline(statement="SELECT nope FROM gold.dim_zone;")
    assert bad.returncode != 0 and "nope" in bad.stderr
    good = endpoint.beeline(statement="SELECT COUNT(*) AS n FROM gold.zone_metrics_hourly;")
    assert good.returncode == 0 and int(good.stdout.split()[1]) > 0


def test_a_port_in_use_is_a_one_line_error(spark, endpoint):
    with pytest.raises(SqlEndpointError, match=f"127.0.0.1:{endpoint.port} is already in use"):
        start_sql_endpoint(spark, endpoint.config, "127.0.0.1", endpoint.port)
    with pytest.raises(SqlEndpointError, match="must be 1-65535"):
        start_sql_endpoint(spark, endpoint.config, "127.0.0.1", 70000)
    with pytest.raises(SqlEndpointError, match="endpoint_session"):  # the test session has no guard
        start_sql_endpoint(spark, endpoint.config, "127.0.0.1", _free_port())


def test_only_its_accounts_get_in(endpoint, tmp_path):
    statement = "SELECT COUNT(*) AS n FROM gold.dim_zone;"
    assert endpoint.beeline(statement=statement).returncode == 0
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    for user, password in (("analyst", wrong), ("analyst", None), ("root", endpoint.password), ("", wrong)):
        refused = run_beeline(endpoint.jdbc_url, user=user, password_file=password, statement=statement)
        assert refused.returncode != 0 and "n\n" not in refused.stdout, (user, password)
    # a rotated password works at once, the old one no longer
    old = tmp_path / "old"
    old.write_text(endpoint.password.read_text())
    set_password(endpoint.config, "analyst")
    assert run_beeline(endpoint.jdbc_url, password_file=old, statement=statement).returncode != 0
    assert endpoint.beeline(statement=statement).returncode == 0


GUARDED = [  # each refused by the guard before it runs
    "DELETE FROM gold.dim_zone",
    "UPDATE gold.dim_zone SET capacity = 0",
    "INSERT INTO gold.dim_zone SELECT * FROM gold.dim_zone",
    "MERGE INTO gold.dim_zone t USING gold.dim_zone s ON t.zone_key = s.zone_key WHEN MATCHED THEN DELETE",
    "DROP TABLE gold.dim_zone",
    "TRUNCATE TABLE gold.zone_metrics_hourly",
    "ALTER TABLE gold.dim_zone SET TBLPROPERTIES ('mallory' = 'was here')",
    "CREATE TABLE gold.stolen AS SELECT * FROM gold.dim_zone",
    "CREATE OR REPLACE VIEW gold.v_busiest_zones AS SELECT 1 AS x",
    "CREATE TEMPORARY VIEW mine AS SELECT * FROM gold.dim_zone",
    "CREATE DATABASE mallory",
    "INSERT OVERWRITE DIRECTORY '{out}' USING csv SELECT * FROM gold.dim_zone",
    "SELECT reflect('java.lang.System', 'getProperty', 'parkpal.sql.users')",
    "SELECT java_method('java.lang.System', 'getenv', 'PATH')",
    "SELECT try_reflect('java.lang.System', 'getenv', 'PATH')",
    "SELECT input_file_name() FROM gold.dim_zone",
    "SET spark.sql.runSQLOnFiles = true",
    "ADD JAR /tmp/mallory.jar",
    "CREATE TEMPORARY FUNCTION f AS 'java.lang.String'",
    "CACHE TABLE gold.dim_zone",
    "VACUUM gold.dim_zone RETAIN 0 HOURS",
    "OPTIMIZE gold.dim_zone",
    "SELECT * FROM delta.`{root}/tables/silver/parking_sessions`",
    "SELECT * FROM parquet.`{root}/tables/silver/gate_events`",
    "SELECT * FROM text.`/etc/passwd`",
    "SELECT * FROM silver.parking_sessions",
    "SELECT * FROM silver.gate_events",
    "SELECT * FROM bronze.gate_events_raw",
    "SELECT * FROM ops.quality_results",
    "SELECT * FROM spark_catalog.silver.vehicles",
    "WITH x AS (SELECT java_method('java.lang.System', 'getenv', 'PATH') AS p) SELECT * FROM x",
    "SELECT zone_id FROM gold.dim_zone WHERE zone_id IN (SELECT user_id FROM silver.parking_sessions)",
    "SELECT xpath_string('<a>x</a>', 'a')",
    "SELECT * FROM read_files('/etc/passwd')",
    "SELECT IDENTIFIER('reflect')('java.lang.System', 'getProperty', 'user.home')",  # ran before: found in review
    "SELECT * FROM IDENTIFIER(concat('silver', '.gate_events'))",
    "VALUES (reflect('java.lang.System', 'getProperty', 'user.home'))",
]
NOT_THERE = [  # silver, bronze, ops are not even in the endpoint's catalog
    "SHOW TABLES IN silver",
    "DESCRIBE TABLE silver.parking_sessions",
    "USE bronze",
]


@pytest.mark.slow
def test_everything_but_reading_gold_is_refused_and_changes_nothing(endpoint, spark, tmp_path):
    root = endpoint.config.storage_root
    out = tmp_path / "exfiltrated"
    gold = Path(root) / "tables" / "gold"
    versions = {t.name: DeltaTable.forPath(spark, str(t)).history(1).first()["version"]
                for t in gold.iterdir() if (t / "_delta_log").is_dir()}
    script = tmp_path / "attacks.sql"
    attacks = [a.format(root=root, out=out) for a in GUARDED + NOT_THERE]
    script.write_text("".join(f"{a};\n" for a in attacks))
    result = endpoint.beeline(sql_file=script, force=True, timeout=420)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == len(attacks), (len(errors), result.stderr[-3000:])
    assert not [r for r in csv.reader(io.StringIO(result.stdout)) if r], result.stdout[:2000]
    guarded = [e for e in errors if "read-only analyst endpoint" in e]
    missing = [e for e in errors if "NOT_FOUND" in e]
    assert len(guarded) == len(GUARDED) and len(missing) == len(NOT_THERE), errors
    assert not out.exists()
    assert {t.name: DeltaTable.forPath(spark, str(t)).history(1).first()["version"]
            for t in gold.iterdir() if (t / "_delta_log").is_dir()} == versions
    assert "/work" not in result.stderr and "getProperty" not in result.stdout
    # and it keeps serving reads
    assert endpoint.beeline(statement="SELECT COUNT(*) AS n FROM gold.v_busiest_zones;").returncode == 0


def test_the_announcement_names_url_user_and_password_file(endpoint):
    assert endpoint.lines[0].startswith("SQL endpoint (HiveServer2 / Spark Thrift, read-only, gold only): jdbc:")
    assert f"password in {endpoint.password}" in endpoint.lines[1]
    assert oct(endpoint.password.stat().st_mode)[-3:] == "600"
    users = (Path(endpoint.config.storage_root) / "serving" / "sql_users").read_text().split()
    assert [u.split(":")[:2] for u in users] == [["analyst", "120000"]]  # name, PBKDF2 iterations, salt, hash
    assert endpoint.password.read_text().strip() not in " ".join(users)
