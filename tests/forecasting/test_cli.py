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
    assert "rolling-origin backtest of" in out and "24h STREET" in out
    assert "24h ahead: model MAE" in out
