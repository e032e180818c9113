"""The README's first command, on a small city: every job of the bundle runs, every table exists, the
summary is printed, the dashboard is written and named last, a second run resumes cleanly, and a root
holding another city (or none of this version's) is refused in one line before anything runs."""

import json

import pytest

from parkpal_lakehouse.demo import DEMO_STAMP, run_demo
from parkpal_lakehouse.errors import ParkPalError

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
    assert out.count("hourly > forecast_score: succeeded") == 3  # no champion yet in the hourly job; replay; live
    # one streamed day has 23 closed hours: no complete local day to monitor, and the job says so
    assert "nothing to monitor yet" in out and "no day monitored yet" in summary
    gold_tables = {r.tableName for r in spark.sql("SHOW TABLES IN gold").collect()}
    assert gold_tables >= GOLD
    # it ends where people look: the dashboard it wrote, then what to run next
    where = out[out.index("Where to look"):].splitlines()
    dashboard = root / "dashboard.html"
    assert f"dashboard         {dashboard.resolve().as_uri()}" in where[1]
    html = dashboard.read_text()
    assert "/*__PARKPAL_DATA__*/null" not in html  # the gold data was inlined into the template
    payload = json.loads(html.split("const DATA = ", 1)[1].split(";\n", 1)[0])
    assert len(payload["zones"]["rows"]) == 8
    assert [w.split()[0] for w in where[1:7]] == ["dashboard", "live", "REST", "query", "SQL", "Delta"]
    # again, on the same folder: resumes from the checkpoints, nothing new to stream
    assert run_demo(root, days=1, fresh=False, progress=print, zones=8, users=400) == 0
    again = capsys.readouterr().out
    assert "reusing the simulated city" in again
    assert "ingestion done: 0 micro-batches" in again and "ParkPal demo summary" in again
    assert "balance: unchanged since it was last counted" in again  # nothing committed since the first run's
    # the champion is unchanged, so neither the replayed nor the live forecasts are made again
    assert "already made by version 1 (from the history alone), not scored again" in again
    assert "live forecasts: the hourly job just made them with version 1" in again
    assert again.count("hourly > forecast_score: succeeded") == 1  # the hourly job's own, once
    assert "384 forecasts in gold.zone_occupancy_forecast from 2 scoring run(s)" in again
    # the same root asked for another city, or without the stamp an older version would lack: refused
    with pytest.raises(ParkPalError, match=r"another simulated city: --zones 9 \(it has 8\).*--fresh"):
        run_demo(root, days=1, fresh=False, progress=print, zones=9, users=400)
    (root / DEMO_STAMP).write_text(json.dumps({**json.loads((root / DEMO_STAMP).read_text()), "layout": 1}))
    with pytest.raises(ParkPalError, match="another ParkPal version"):
        run_demo(root, days=1, fresh=False, progress=print, zones=8, users=400)
    (root / DEMO_STAMP).unlink()
    with pytest.raises(ParkPalError, match="did not make"):
        run_demo(root, days=1, fresh=False, progress=print, zones=8, users=400)
