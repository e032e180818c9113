"""`parkpal jobs run`: the bundle's own job definitions run here, in order, with their parameters."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from parkpal_lakehouse.cli import main
from parkpal_lakehouse.gold.accuracy import gold_accuracy
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.jobs.bundle import BundleError, load_bundle, resolve_job
from parkpal_lakehouse.jobs.runner import run_job, wheel_arguments
from tests.jobs.conftest import BUNDLE


def test_wheel_tasks_get_the_job_parameters_then_their_own_with_references_filled():
    job = resolve_job(load_bundle(BUNDLE), "hourly", "local", {"storage_root": "/lake"})
    gold = next(t for t in job.tasks if t.key == "gold_hourly")
    parameters = {**job.parameters, "hours_from": "2026-11-04T00:00", "hours_to": "2026-11-04T06:00"}
    arguments = wheel_arguments(gold, job, parameters, datetime(2026, 11, 4, 7, tzinfo=UTC))
    assert arguments[:4] == ["--target=local", "--catalog=spark_catalog", "--schema_prefix=", "--storage_root=/lake"]
    assert arguments[-2:] == ["--from=2026-11-04T00:00", "--to=2026-11-04T06:00"]


@pytest.mark.slow
def test_jobs_run_hourly_computes_gold_that_matches_the_ground_truth(spark, gold_city, small_city):
    # `gold_city` is built by `parkpal jobs run hourly --root <a copy of the city>` (conftest.py); its gold is
    # read by the gold, serving and sharing tests too
    config, first_run = gold_city
    out = first_run.output
    assert "job hourly (target local) succeeded: gold_hourly succeeded" in out
    assert "gold_quality succeeded" in out and "forecast_score succeeded" in out
    assert "no @champion for occupancy_forecaster yet: nothing scored" in out
    metrics = read_table(spark, config, "gold.zone_metrics_hourly").toPandas()
    settled = pd.Timestamp(small_city.manifest["window_end"], unit="s", tz="UTC") - pd.Timedelta(hours=1)
    accuracy = gold_accuracy(metrics, small_city.occupancy, small_city.searches, settled)
    assert accuracy.occupancy_mae["LOT"] < 0.005 and accuracy.occupancy_mae["GARAGE"] < 0.005
    assert accuracy.circling_zone_hours > 50 and accuracy.circling_mae_seconds < 1.0  # phones send whole seconds
    audit = read_table(spark, config, "ops.quality_results").where("suite = 'gold_audit'").collect()
    assert sorted((r.expectation, r.success) for r in audit) == [
        ("gold_at_most_3h_behind_silver", True), ("gold_one_row_per_zone_hour", True), ("gold_zones_in_dim_zone", True)]


def test_a_failed_task_skips_its_dependents_and_fails_the_job(bundle_copy, tmp_path, capsys):
    bundle_copy.edit("resources/hourly.yml", lambda d: d["resources"]["jobs"]["hourly"]["tasks"][1][
        "python_wheel_task"]["named_parameters"].update(max_lag_hours="three"))
    run = run_job("hourly", bundle_path=bundle_copy.path, variables={"storage_root": str(tmp_path / "lake")},
                  only=["gold_quality", "forecast_score"], progress=lambda _m: None)
    assert [(t.key, t.state, t.exit_code) for t in run.tasks] == [
        ("gold_hourly", "excluded", 0), ("gold_quality", "failed", 2), ("forecast_score", "upstream_failed", 0)]
    assert not run.succeeded
    assert "argument --max-lag-hours/--max_lag_hours: expected a whole number, not 'three'" in capsys.readouterr().err


def test_a_missing_entry_point_stops_the_run_before_any_task(bundle_copy, tmp_path):
    bundle_copy.edit("resources/hourly.yml", lambda d: d["resources"]["jobs"]["hourly"]["tasks"][2][
        "python_wheel_task"].update(entry_point="parkpal-forecast-scroe"))
    with pytest.raises(BundleError, match="entry point 'parkpal-forecast-scroe' is not in parkpal_lakehouse's"):
        run_job("hourly", bundle_path=bundle_copy.path, variables={"storage_root": str(tmp_path / "lake")})
    assert not (tmp_path / "lake").exists()


def test_a_cycle_stops_the_run(bundle_copy, tmp_path):
    bundle_copy.edit("resources/hourly.yml", lambda d: d["resources"]["jobs"]["hourly"]["tasks"][0].update(
        depends_on=[{"task_key": "forecast_score"}]))
    with pytest.raises(BundleError, match="gold_hourly, gold_quality, forecast_score depend on each other in a cycle"):
        run_job("hourly", bundle_path=bundle_copy.path, variables={"storage_root": str(tmp_path / "lake")})


@pytest.mark.parametrize(("argv", "error"), [
    (["jobs", "run", "nightly"], "unknown job 'nightly'; the bundle has daily_training, hourly, maintenance, setup"),
    (["jobs", "run", "hourly", "--param", "hour=2"], "job hourly has no parameter hour; it has target"),
    (["jobs", "run", "hourly", "--task", "gold"], "job hourly has no task gold"),
    (["jobs", "run", "hourly", "--var", "colour=red"], "variable 'colour' is not declared in databricks.yml"),
    (["jobs", "run", "hourly", "--target", "prod"], "only the local target runs on this machine"),
])
def test_bad_requests_are_one_line_errors(argv, error, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert error in err and err.count("\n") == 1


def test_jobs_validate_and_list(capsys):
    assert main(["jobs", "validate"]) == 0
    assert "valid (5 jobs, 9 tasks, 1 serving endpoint(s), targets local, dev, prod)" in capsys.readouterr().out
    assert main(["jobs", "list"]) == 0
    listing = capsys.readouterr().out
    assert "hourly           cron '0 10 * * * ?' Asia/Manila" in listing
    assert "  forecast_validate  parkpal-forecast-validate (after forecast_train)" in listing
