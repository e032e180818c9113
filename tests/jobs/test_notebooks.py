"""Every notebook runs here, with a stand-in for dbutils, and reaches its step with the widgets' values."""

import os
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

from parkpal_lakehouse.contracts.reference import sample_reference_dir
from parkpal_lakehouse.jobs.notebooks import (
    LocalDbutils,
    NotebookError,
    declare_widgets,
    notebook_cells,
    run_notebook,
)
from parkpal_lakehouse.jobs.validation import notebook_step
from tests.jobs.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.py"))


def test_there_is_a_notebook_for_every_step():
    from parkpal_lakehouse.steps import STEPS

    assert sorted(notebook_step(p) for p in NOTEBOOKS) == sorted(STEPS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_thin_databricks_source_notebooks(path):
    cells = notebook_cells(path)
    assert len(cells) == 2, "declare the widgets, run the step: nothing else"
    dbutils = LocalDbutils({})
    declare_widgets(dbutils, notebook_step(path))
    assert {"target", "catalog", "schema_prefix", "storage_root"} <= set(dbutils.widgets.getAll())


def test_a_widget_never_declared_is_an_error():
    with pytest.raises(NotebookError, match="no input widget named zone"):
        LocalDbutils({}).widgets.get("zone")


@pytest.fixture(scope="module")
def lake(gold_city, tmp_path_factory):
    """A copy of the gold city: notebooks write to it."""
    config, _ = gold_city
    root = tmp_path_factory.mktemp("notebooks") / "lake"
    shutil.copytree(config.storage_root, root)
    return root


def _run(name: str, root: Path, **widgets: str) -> None:
    run_notebook(REPO / "notebooks" / f"{name}.py", {"storage_root": str(root), **widgets})


def test_setup_notebook_loads_the_reference_data(spark, tmp_path, capsys):
    _run("setup_lakehouse", tmp_path / "lake", reference_folder=str(sample_reference_dir()))
    assert "reference data from" in capsys.readouterr().out
    assert spark.read.format("delta").load(str(tmp_path / "lake" / "tables" / "silver" / "zones")).count() == len(
        (sample_reference_dir() / "zones.csv").read_text().strip().splitlines()) - 1


def test_gold_hourly_notebook_recomputes_the_hour_its_widgets_name(spark, lake, capsys):
    newest = spark.read.format("delta").load(str(lake / "tables" / "gold" / "zone_metrics_hourly")).agg(
        {"hour_start": "max"}).first()[0]
    hour = {"from": f"{newest:%Y-%m-%dT%H:%M}", "to": f"{newest + timedelta(hours=1):%Y-%m-%dT%H:%M}"}
    _run("gold_hourly", lake, **hour)
    assert "1 hour(s) computed (explicit) in" in capsys.readouterr().out


@pytest.mark.parametrize(("name", "printed"), [
    ("gold_quality", r"gold audit of .* all passed"),
    ("forecast_score", r"no @champion for occupancy_forecaster yet"),
    ("forecast_monitor", r"no forecasts with actuals for that day|nothing to monitor yet"),
])
def test_batch_notebooks_run_their_step_on_the_widgets_root(lake, name, printed, capsys):
    _run(name, lake)
    out = capsys.readouterr().out
    assert re.search(printed, out), out


def test_maintain_tables_notebook_vacuums_every_table_of_every_layer(lake, capsys):
    """Files no version references (a failed write's leftovers) go once older than the retention, from every
    bronze, silver and gold table (vacuumed a few side by side); newer ones stay."""
    tables = sorted(d.parent for layer in ("bronze", "silver", "gold")
                    for d in (lake / "tables" / layer).glob("*/_delta_log"))
    assert len(tables) > 10
    stale = time.time() - 10 * 24 * 3600
    for table in tables:
        for name in ("part-leftover-old.parquet", "part-leftover-new.parquet"):
            (table / name).write_bytes(b"not referenced by any version")
        os.utime(table / "part-leftover-old.parquet", (stale, stale))
    _run("maintain_tables", lake)
    out = capsys.readouterr().out
    for table in tables:
        assert f"VACUUM {table.parent.name}.{table.name}: files older than 168 h removed" in out, out
        assert not (table / "part-leftover-old.parquet").exists(), table
        assert (table / "part-leftover-new.parquet").exists(), table


@pytest.mark.parametrize(("name", "widgets", "error"), [
    ("ingest_streams", {"source": "kafka", "bootstrap_servers": "127.0.0.1:1"}, "cannot reach Kafka (127.0.0.1:1"),
    ("forecast_train", {}, "forecast train needs at least 31 days of hourly occupancy"),
    ("forecast_validate", {}, "no challenger yet"),
])
def test_failing_steps_fail_the_notebook_with_their_one_line_error(lake, name, widgets, error, capsys):
    with pytest.raises(SystemExit) as exit_:
        _run(name, lake, **widgets)
    assert exit_.value.code == 2
    assert error in capsys.readouterr().err
