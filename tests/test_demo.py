"""The README's first command, on a small city: every job of the bundle runs, every table exists, the
summary is printed, and a second run resumes cleanly."""

import pytest

from parkpal_lakehouse.demo import run_demo

GOLD = {"dim_zone", "dim_date", "dim_hour", "fact_parking_sessions", "fact_gate_sessions", "zone_metrics_hourly",
        "zone_occupancy_forecast", "forecast_accuracy_daily"}


@pytest.mark.slow
def test_demo_runs_the_bundle_jobs_and_prints_the_summary(spark, tmp_path, capsys):
    root = tmp_path / "demo"
    assert run_demo(root, days=1, fresh=False, progress=print, zones=8, users=400) == 0
    out = capsys.readouterr().out
    for job in ("setup", "streaming", "hourly", "daily_training"):
        assert f"job {job} (target local) succeeded" in out, job
    summary = out[out.index("ParkPal demo summary"):]
    for hub in ("activity-events", "geofence-events", "gate-events"):
        assert f"{hub}" in summary and "MISMATCH" not in summary
    assert "quality           0 failed expectation result(s)" in summary
    assert "true searches found       100.00%" in summary
    assert "backtest 24 h MAE" in summary and "@champion" in summary
    assert "384 forecasts in gold.zone_occupancy_forecast from 2 scoring run(s)" in summary, summary  # 8 x 24 x 2
    # one streamed day has 23 closed hours: no complete local day to monitor, and the job says so
    assert "nothing to monitor yet" in out and "no day monitored yet" in summary
    gold_tables = {r.tableName for r in spark.sql("SHOW TABLES IN gold").collect()}
    assert gold_tables >= GOLD
    # again, on the same folder: resumes from the checkpoints, nothing new to stream
    assert run_demo(root, days=1, fresh=False, progress=print, zones=8, users=400) == 0
    again = capsys.readouterr().out
    assert "reusing the simulated city" in again
    assert "ingestion done: 0 micro-batches" in again and "ParkPal demo summary" in again
