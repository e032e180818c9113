"""The job entry points: parameters as Databricks passes them, one-line errors, exit codes."""

import pytest

from parkpal_lakehouse.config import Environment
from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps.entry_points import forecast_score, gold_quality


def test_databricks_targets_need_a_catalog_and_a_lake_root(capsys):
    with pytest.raises(SystemExit) as exit_:
        gold_quality(["--target=prod", "--storage_root=./lakehouse"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["parkpal-gold-quality: error: target prod needs --catalog and an abfss:// --storage_root "
                   "(got catalog '', storage root './lakehouse')"]


def test_a_malformed_parameter_is_one_line_and_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        forecast_score([f"--storage_root={tmp_path}", "--as_of=yesterday"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("parkpal-forecast-score: error: argument --as-of/--as_of: expected a time like")
    assert "\n" not in err


def test_the_bundle_and_people_spell_parameters_their_own_way():
    parser = STEPS["parkpal-gold-hourly"].parser()
    args = parser.parse_args(["--storage-root=/a", "--schema_prefix=ana_", "--target=dev", "--catalog=c",
                              "--from=2026-11-04T00:00", "--to="])
    assert (args.storage_root, args.schema_prefix, args.to) == ("/a", "ana_", None)
    assert getattr(args, "from").isoformat() == "2026-11-04T00:00:00+00:00"


def test_dev_parameters_build_the_unity_catalog_config():
    args = STEPS["parkpal-maintain"].parser().parse_args([
        "--target=dev", "--catalog=parkpal_dev", "--schema_prefix=ana_",
        "--storage_root=abfss://{container}@stparkpaldevlake.dfs.core.windows.net", "--secret_scope=kv"])
    config = STEPS["parkpal-maintain"].config(args, door="job")
    assert config.env is Environment.DEV
    assert config.table_name("gold.zone_metrics_hourly") == "parkpal_dev.ana_gold.zone_metrics_hourly"
    assert config.checkpoint_path("q") == "abfss://checkpoints@stparkpaldevlake.dfs.core.windows.net/q"
    assert config.source.connection_string.scope == "kv"


def test_job_parameters_meant_for_a_sibling_task_are_noted_not_fatal(spark, tmp_path, capsys):
    # Databricks pushes every job parameter down to every task: scoring also receives the hourly range.
    (tmp_path / "lake").mkdir()
    forecast_score([f"--storage_root={tmp_path / 'lake'}", "--hours_from=2026-11-04T00:00", "--hours_to=",
                    "--as_of="])
    captured = capsys.readouterr()
    assert "not read by this task (job parameters reach every task): --hours_from=2026-11-04T00:00\n" in captured.err
    assert "no @champion for occupancy_forecaster yet: nothing scored" in captured.out


def test_every_step_is_a_project_script():
    import tomllib
    from pathlib import Path

    scripts = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    for name in STEPS:
        module, _, function = scripts[name].partition(":")
        assert module == "parkpal_lakehouse.steps.entry_points"
        entry = getattr(__import__(module, fromlist=[function]), function)
        assert entry.step is STEPS[name]
