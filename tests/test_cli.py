import json
import subprocess
import sys

import pytest

from parkpal_lakehouse.cli import build_parser, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parkpal_lakehouse.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("command", ["setup", "simulate", "demo"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert command in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--days", "x"], "--days: expected a whole number, not 'x'"),
        (["simulate", "--days", "0"], "--days: must be at least 1"),
        (["simulate", "--start-date", "02/11/2026"], "expected a date like 2026-11-02"),
        (["simulate", "--sink", "pigeon"], "invalid choice: 'pigeon'"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_library_errors_are_one_line_too(tmp_path, monkeypatch):
    monkeypatch.delenv("PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING", raising=False)
    result = run("simulate", "--root", str(tmp_path), "--zones", "2", "--users", "10", "--sink", "eventhubs")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("parkpal simulate: error: the Event Hubs sink needs")


def test_simulate_writes_landing_truth_and_reports_progress(tmp_path):
    result = run("simulate", "--root", str(tmp_path), "--zones", "3", "--users", "50", "--seed", "9")
    assert result.returncode == 0, result.stderr
    assert "messages/s" in result.stdout and "generated" in result.stderr
    manifest = json.loads((tmp_path / "truth" / "manifest.json").read_text())
    assert manifest["zones"] == 3 and manifest["users"] == 50
    assert list((tmp_path / "landing" / "activity-events").rglob("*.jsonl"))


def test_parser_defaults_match_the_issue_scale():
    args = build_parser().parse_args(["simulate"])
    assert (args.zones, args.users, args.days) == (50, 5000, 1)
