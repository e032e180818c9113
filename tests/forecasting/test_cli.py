"""`parkpal forecast ...` from the command line: working runs and one-line errors."""

from __future__ import annotations

import pytest

from parkpal_lakehouse.cli import main
from parkpal_lakehouse.simulator.history import write_history
from parkpal_lakehouse.simulator.settings import SimulationSettings


@pytest.mark.parametrize("action", ["train", "validate", "score", "backtest", "monitor"])
def test_every_forecast_command_has_help(action, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["forecast", action, "--help"])
    assert exit_.value.code == 0
    assert "--root" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["forecast", "train", "--input", "a.csv", "--history", "b.csv"], "give --input (instead of gold) or --history"),
    (["forecast", "backtest", "--input", "/nonexistent/occupancy.csv"], "--input /nonexistent/occupancy.csv: no such"),
    (["forecast", "train"], "gold.zone_metrics_hourly does not exist: run `parkpal hourly` first"),
    (["simulate", "--history-weeks", "-1"], "--history-weeks must be 0 or more"),
    (["forecast", "train", "--root", "/nonexistent/lake"], "--root /nonexistent/lake does not exist"),
])
def test_bad_forecast_arguments_are_one_line_errors(args, message, tmp_path, capsys):
    root = [] if "--root" in args else ["--root", str(tmp_path)]  # an existing (empty) lakehouse folder
    assert main([*args, *root]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_backtest_any_table_from_the_command_line(tmp_path, capsys, history):
    # The shared 4-week history is too short for the default backtest (14 days + a week of lags + 7 to fit).
    assert main(["forecast", "backtest", "--root", str(tmp_path), "--input", str(history.csv)]) == 2
    assert "needs at least 30 days of hourly occupancy" in capsys.readouterr().err
    csv, _ = write_history(SimulationSettings(seed=9, zones=3, users=600), 5, tmp_path / "longer")
    assert main(["forecast", "backtest", "--root", str(tmp_path), "--input", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "negative counts dropped" in out and "exact duplicates dropped" in out
    assert "rolling origin backtest of" in out and "reporting hours: " in out
    for h in (1, 6, 24):
        assert f"{h}h ahead (origins" in out
    assert "model better by" in out and "80% interval:" in out and "per zone type, model vs its hardest" in out
    assert "24h ahead: model MAE" in out and "on the same" in out


def test_a_chosen_holdout_week_of_car_park_readings(tmp_path, capsys):
    """Half-hourly readings while open, days missing: scored on a fixed week, n per method, gaps said."""
    csv, _ = write_history(SimulationSettings(seed=11, zones=8, users=900), 6, tmp_path / "parks", "car-parks")
    assert csv.name == "car_park_readings.csv"
    args = ["forecast", "backtest", "--root", str(tmp_path), "--input", str(csv), "--holdout-from",
            "2026-10-25T16:00", "--holdout-to", "2026-11-01T00:00", "--horizons", "1,24"]
    assert main(args) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "columns zone_id=SystemCodeNumber, time=LastUpdated, occupied=Occupancy" in out
    assert "fixed holdout backtest" in out and "(calibration only)" in captured.err
    assert "origins 2026-10-25 16:00 to 2026-11-01 00:00 UTC" in out
    assert "reporting hours: 0 zones around the clock" in out and "forecasts are made (and scored) for" in out
    assert "1h ahead" in out and "24h ahead" in out and "6h ahead" not in out
    assert "origin in a gap: model" in out  # the first open hour is forecast from yesterday's last reading
    persistence = next(line for line in out.splitlines() if line.strip().startswith("persistence"))
    model = next(line for line in out.splitlines() if line.strip().startswith("model "))
    assert int(persistence.split()[1].replace(",", "")) < int(model.split()[1].replace(",", ""))


@pytest.mark.parametrize(("extra", "message"), [
    (["--holdout-from", "2026-10-25T16:00"], "--holdout-from and --holdout-to go together"),
    (["--holdout-from", "2026-10-25T16:00", "--holdout-to", "2026-10-25T10:00"], "must be after --holdout-from"),
    (["--horizons", "1,36"], "--horizons must be between 1 and 24"),
    (["--horizons", "one"], "--horizons takes hours ahead separated by commas"),
])
def test_bad_evaluation_options_are_one_line_errors(extra, message, tmp_path, capsys, history):
    assert main(["forecast", "backtest", "--root", str(tmp_path), "--input", str(history.csv), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
