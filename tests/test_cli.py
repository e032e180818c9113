import json
import re
import subprocess
import sys

import pytest

from parkpal_lakehouse.cli import DEVICE_CHOICES, build_parser, main
from parkpal_lakehouse.simulator.settings import DEVICE_PROFILES, SimulationSettings


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parkpal_lakehouse.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("command", ["setup", "simulate", "demo", "stream start", "stream balance", "reference load",
                                     "sessions repair", "sessions backfill", "sessions accuracy", "lake init",
                                     "lake upload-reference", "lake status", "hourly", "gold maintain",
                                     "gold accuracy", "sql"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    assert exit_.value.code == 0
    assert command.split()[-1] in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--days", "x"], "--days: expected a whole number, not 'x'"),
        (["simulate", "--days", "0"], "--days: must be at least 1"),
        (["simulate", "--start-date", "02/11/2026"], "expected a date like 2026-11-02"),
        (["simulate", "--sink", "pigeon"], "invalid choice: 'pigeon'"),
        (["simulate", "--device", "iphone"], "invalid choice: 'iphone'"),
        (["fly"], "invalid choice: 'fly'"),
        (["stream", "start", "--hubs", "parking-events"], "unknown hub parking-events"),
        (["stream", "start", "--trigger", "soon"], "expected availableNow or processingTime"),
        (["stream", "start", "--source", "kafka", "--bootstrap-servers", "127.0.0.1:1", "--root", "/tmp"],
         "cannot reach Kafka"),
        (["stream"], "required: ACTION"),
        (["lake", "status", "--account", "Not_An_Account"], "--account must be a storage account name"),
        (["lake", "status", "--account", "parkpaldev", "--credential", "env:PARKPAL_UNSET_VAR"],
         "PARKPAL_UNSET_VAR is not set"),
        (["lake", "init", "--account", "parkpaldev", "--engineers", "x", "--analysts", "y", "--streaming", "z",
          "--credential", "env:HOME"], "--engineers must be an Entra ID object id"),
        (["sessions", "backfill", "--from", "yesterday", "--to", "2026-11-03"], "expected a time like 2026-11-02"),
        (["sessions", "backfill", "--from", "2026-11-02"], "required: --to"),
        (["sessions", "accuracy", "--root", "/nonexistent/city"], "--root /nonexistent/city does not exist"),
        (["hourly", "--hour", "2026-11-02T08:30"], "hours start on the hour: 2026-11-02T08:30:00+00:00"),
        (["hourly", "--from", "2026-11-02T08:00"], "--from and --to go together"),
        (["hourly", "--from", "2026-11-02T08:00", "--to", "2026-11-02T06:00"], "hour range is empty"),
        (["hourly", "--hour", "2026-11-02T08:00", "--from", "2026-11-02T08:00", "--to", "2026-11-02T09:00"],
         "give --hour or --from/--to, not both"),
        (["gold", "maintain", "--retention-hours", "24"], "would break 7-day time travel"),
        (["gold", "accuracy", "--root", "/nonexistent/city"], "--root /nonexistent/city does not exist"),
        (["simulate", "--rate", "0"], "--rate: must be a positive number, not 0"),
        (["simulate", "--rate", "nan"], "--rate: must be a positive number, not nan"),
        (["sql", "SELECT 1", "--root", "/nonexistent/lake"], "--root /nonexistent/lake does not exist"),
        (["hourly", "--root", "/nonexistent/lake"], "--root /nonexistent/lake does not exist"),
        (["share", "publish", "--root", "/nonexistent/lake"], "--root /nonexistent/lake does not exist"),
        (["sql", "  "], "empty SQL statement"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_an_unreachable_broker_is_said_before_the_pipeline_is_imported(tmp_path):
    """`stream start` checks the broker first: great-expectations alone takes seconds to import, and a
    wrong address should not wait for it (issue 21)."""
    script = (
        "import sys\n"
        "from parkpal_lakehouse.cli import main\n"
        "try:\n"
        "    code = main(['stream', 'start', '--source', 'kafka', '--bootstrap-servers', '127.0.0.1:1',\n"
        f"                 '--root', {str(tmp_path)!r}])\n"
        "except SystemExit as exit_:\n"
        "    code = exit_.code\n"
        "print(code, [m for m in ('great_expectations', 'parkpal_lakehouse.ingestion') if m in sys.modules])\n")
    probe = tmp_path / "probe.py"  # a file: pyspark's doctest hook exits a `__main__` without one
    probe.write_text(script)
    result = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "[]"], (result.stdout, result.stderr)
    assert "cannot reach Kafka" in result.stderr


def test_library_errors_are_one_line_too(tmp_path, monkeypatch):
    monkeypatch.delenv("PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING", raising=False)
    result = run("simulate", "--root", str(tmp_path), "--zones", "2", "--users", "10", "--sink", "eventhubs")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("parkpal simulate: error: the Event Hubs sink needs")


def test_a_nonexistent_root_is_not_created():
    from pathlib import Path

    assert run("sql", "SELECT 1", "--root", "/nonexistent/lake").returncode == 2
    assert not Path("/nonexistent").exists()


def test_an_unreachable_event_hubs_namespace_is_one_line_and_leaves_the_root_free(tmp_path, monkeypatch):
    monkeypatch.setenv("PARKPAL_EVENTHUBS_SEND_CONNECTION_STRING",
                       "Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=send;SharedAccessKey=c2VjcmV0")
    root = tmp_path / "city"
    result = run("simulate", "--root", str(root), "--zones", "2", "--users", "10", "--sink", "eventhubs")
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.strip().splitlines() if not ln.startswith("[")]
    assert len(lines) == 1 and "cannot reach Event Hubs" in lines[0], result.stderr
    assert not (root / "truth").exists()
    retry = run("simulate", "--root", str(root), "--zones", "2", "--users", "10")
    assert retry.returncode == 0, retry.stderr  # not "already holds a simulated city"


def test_a_one_user_city_simulates(tmp_path):
    result = run("simulate", "--root", str(tmp_path), "--zones", "1", "--users", "1")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "truth" / "searches.parquet").exists()


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
    assert args.device == SimulationSettings().device == "platform"
    assert DEVICE_CHOICES == DEVICE_PROFILES  # the CLI's copy (kept to keep --help fast) is the simulator's list


def test_stream_without_reference_data_says_what_to_run(tmp_path):
    result = run("stream", "start", "--root", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "parkpal stream start: error: no zones reference table: load it first "
        "(`parkpal reference load`, or run the demo)")


def test_stream_start_says_the_reference_is_missing_before_starting_spark(tmp_path, monkeypatch, capsys):
    import parkpal_lakehouse.runtime.session as session

    def no_spark(*_args, **_kwargs):
        raise AssertionError("Spark was started before the reference check")

    monkeypatch.setattr(session, "get_spark", no_spark)
    assert main(["stream", "start", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith("no zones reference table: load it first "
                                                                     "(`parkpal reference load`, or run the demo)")


@pytest.mark.slow
def test_sigterm_stops_a_continuous_stream_gracefully(spark, tmp_path):
    """One hub's bronze and silver queries: the signal path (stop each query between its micro-batches, then
    exit 0) is the same for every query; the reference tables are loaded in this process's session."""
    import signal
    import time
    from collections import Counter

    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.io.delta import read_table
    from parkpal_lakehouse.names import PIPELINE_PROGRESS
    from parkpal_lakehouse.silver.reference import load_reference_tables

    assert run("simulate", "--root", str(tmp_path), "--zones", "3", "--users", "60").returncode == 0
    load_reference_tables(spark, local_config(tmp_path), tmp_path / "reference")
    process = subprocess.Popen([sys.executable, "-m", "parkpal_lakehouse.cli", "stream", "start", "--root",
                                str(tmp_path), "--trigger", "processingTime=2 seconds", "--no-quality",
                                "--hubs", "activity-events", "--no-sessions"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    bronze_log = tmp_path / "tables" / "bronze" / "activity_events_raw" / "_delta_log"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list(bronze_log.glob("*.json"))) < 2 and process.poll() is None:
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err[-2000:]
    assert "SIGTERM: stopping the queries" in err and "ingestion stopped on signal" in out
    # the batches it logged are kept: the progress rows still pending when the signal came were appended on the
    # way out (a continuous run appends them once a minute)
    batches, rows_in = re.search(r"stopped on signal: (\d+) micro-batches; rows in: (.+)", out).groups()
    reported = {name: int(n.replace(",", "")) for name, n in (part.rsplit(" ", 1) for part in rows_in.split(", "))}
    kept = read_table(spark, local_config(tmp_path), PIPELINE_PROGRESS).collect()
    totals = Counter()
    for row in kept:
        totals[row.query_name] += row.num_input_rows
    assert len(kept) == int(batches) > 0 and dict(totals) == reported, (kept, out)


@pytest.mark.parametrize("command", [["share", "serve"], ["sql", "serve"], ["api", "serve"], ["dashboard", "serve"]])
def test_a_port_in_use_is_one_line_before_spark_starts(command, tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(*command, "--root", str(tmp_path), "--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port} is already in use; pick another --port" in lines[0], result.stderr


def test_the_live_dashboard_refuses_a_public_interface_in_one_line(tmp_path):
    result = run("dashboard", "serve", "--root", str(tmp_path), "--host", "0.0.0.0")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no login: serve it on 127.0.0.1 (not 0.0.0.0)" in lines[0], result.stderr


def test_the_demo_refuses_a_folder_that_is_not_its_city_in_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run("demo", "--root", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is not empty and holds no demo city" in lines[0] and "--fresh" in lines[0], lines
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / "logs").exists()


def test_the_demo_has_a_verbose_switch_and_a_small_default_city():
    args = build_parser().parse_args(["demo"])
    assert (args.days, args.zones, args.users, args.verbose) == (2, 20, 2000, False)
    assert build_parser().parse_args(["demo", "--verbose"]).verbose
    from parkpal_lakehouse.demo import DEMO_DAYS, DEMO_USERS, DEMO_ZONES

    assert (args.days, args.zones, args.users) == (DEMO_DAYS, DEMO_ZONES, DEMO_USERS)


@pytest.mark.slow
def test_a_command_on_a_root_keeps_library_output_in_its_log_unless_verbose(tmp_path):
    quiet = run("sql", "SELECT 41 + 1 AS answer", "--root", str(tmp_path))
    assert quiet.returncode == 0, quiet.stderr
    assert "42" in quiet.stdout and quiet.stderr == ""  # not even the JVM's startup warnings
    assert "Using incubator modules" in (tmp_path / "logs" / "parkpal.log").read_text()
    loud = run("sql", "SELECT 41 + 1 AS answer", "--root", str(tmp_path), "--verbose")
    assert loud.returncode == 0 and "42" in loud.stdout
    assert "Using incubator modules" in loud.stderr
