"""The `parkpal` command. Parses arguments, builds config, calls the library; nothing else.

Every failure the user can fix is one line on stderr (`parkpal <cmd>: error: ...`) and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError

DEFAULT_ROOT = "./lakehouse"
_HOUR = timedelta(hours=1)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that names the problem and points at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-02, not {text!r}") from None


def _iso_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time like 2026-11-02T06:00 (UTC unless an offset is given), "
                                         f"not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=DEFAULT_ROOT, help="local storage root of the lakehouse (default: %(default)s)")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535, not {value}")
    return value


def _add_serving_commands(sub: argparse._SubParsersAction) -> None:
    from parkpal_lakehouse.serving import commands

    p = sub.add_parser("share", help="Delta Sharing of gold: list, publish, serve, rotate a recipient's token")
    share = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    for action, helptext in (("list", "recipients, their shares and zones (from the share definition)"),
                             ("publish", "write each recipient's share tables from gold"),
                             ("serve", "publish, start the Delta Sharing server and write a profile file per "
                                       "recipient"),
                             ("token", "issue a new token (and profile file) for one recipient")):
        p = share.add_parser(action, help=helptext)
        p.add_argument("--definition", default=None, help="share definition YAML (default: the packaged shares.yml)")
        if action != "list":
            _add_root(p)
        if action == "publish":
            p.add_argument("--recipient", action="append", default=[], help="only this recipient (repeatable)")
        if action == "serve":
            p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
            p.add_argument("--port", type=_port, default=8080, help="port, 0 for any free one (default: %(default)s)")
            p.add_argument("--token-days", type=_positive_int, default=90, help="lifetime of new tokens")
            p.add_argument("--no-publish", action="store_true", help="serve the share tables as last published")
        if action == "token":
            p.add_argument("recipient")
            p.add_argument("--days", type=_positive_int, default=90, help="token lifetime (default: %(default)s)")
            p.add_argument("--endpoint", default=None, help="server URL (default: the one in the current profile)")
        p.set_defaults(func=getattr(commands, f"cmd_share_{action}"))

    p = sub.add_parser("dashboard", help="the operator dashboard as a self-contained HTML report from gold")
    _add_root(p)
    p.add_argument("--out", default=None, help="HTML file to write (default: <root>/dashboard.html)")
    p.set_defaults(func=commands.cmd_dashboard)


# --- commands ------------------------------------------------------------------------------------
def cmd_setup(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.jars import KAFKA_BROKER_JARS, SPARK_JARS, ensure_jars, java_executable

    java_executable()
    for jar_set in (SPARK_JARS, KAFKA_BROKER_JARS):
        started = time.perf_counter()
        jars = ensure_jars(jar_set)
        _progress(f"{jar_set.name} jars: {len(jars)} cached in {jars[0].parent} ({time.perf_counter() - started:.1f}s)")
    return 0


def _simulation_settings(args: argparse.Namespace):
    from parkpal_lakehouse.simulator.settings import NoiseSettings, SimulationSettings

    return SimulationSettings(
        seed=args.seed, start_date=args.start_date, days=args.days, zones=args.zones, users=args.users,
        noise=NoiseSettings.off() if args.no_noise else NoiseSettings(), device=args.device,
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.simulator.run import simulate
    from parkpal_lakehouse.simulator.sinks import EventHubsSink, KafkaSink

    settings = _simulation_settings(args)
    root = Path(args.root).resolve()
    sink = None
    if args.sink == "kafka":
        sink = KafkaSink(args.bootstrap_servers)
    elif args.sink == "eventhubs":
        sink = EventHubsSink()
    if args.history_weeks < 0:
        raise ParkPalError(f"--history-weeks must be 0 or more, not {args.history_weeks}")
    if sink is not None:
        sink.probe()  # an unreachable broker or namespace fails here, before anything is written
    report = simulate(settings, root, sink=sink, rate=args.rate, progress=_progress)
    if args.history_weeks:
        from parkpal_lakehouse.simulator.history import write_history

        path, history = write_history(settings, args.history_weeks, root, args.history_profile)
        print(f"history: {len(history):,} zone-hours over {args.history_weeks} weeks before {settings.start_date} "
              f"in {path} ({args.history_profile})")
    print(
        f"simulated {report.events:,} events ({report.messages:,} messages with noise) and "
        f"{report.searches:,} searches in {report.seconds:.1f}s = {report.events_per_second:,.0f} messages/s; "
        f"ground truth in {root / 'truth'}"
    )
    return 0


def existing_root(root: str) -> str:
    """A command that reads a lakehouse needs one: a mistyped --root must not become a new empty one."""
    if not Path(root).is_dir():
        raise ParkPalError(f"--root {root} does not exist: give the folder of a lakehouse "
                           "(made by `parkpal demo`, `parkpal simulate` or `parkpal reference load`)")
    return root


def _lakehouse(args: argparse.Namespace, create: bool = False):
    from dataclasses import replace

    from parkpal_lakehouse.config import SourceConfig, StreamSettings, local_config

    config = local_config(args.root if create else existing_root(args.root))
    source = SourceConfig(kind=getattr(args, "source", "landing"),
                          bootstrap_servers=getattr(args, "bootstrap_servers", "") or "",
                          max_files_per_trigger=getattr(args, "max_files_per_trigger", None),
                          max_offsets_per_trigger=getattr(args, "max_offsets_per_trigger", None))
    stream = StreamSettings(trigger=getattr(args, "trigger", "availableNow"),
                            quality_checks=not getattr(args, "no_quality", False))
    return replace(config, source=source, stream=stream)


def _hubs(text: str):
    from parkpal_lakehouse.contracts.events import Hub

    names = [h.strip() for h in text.split(",") if h.strip()]
    known = {h.value: h for h in Hub}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        given = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(f"unknown hub {given}; choose from {', '.join(known)}")
    return [known[n] for n in names]


def _trigger(text: str) -> str:
    if text == "availableNow":
        return text
    interval = text.removeprefix("processingTime=")
    parts = interval.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1].rstrip("s") not in ("second", "minute"):
        raise argparse.ArgumentTypeError(f"expected availableNow or processingTime='10 seconds', not {text!r}")
    return f"processingTime={interval}"


def cmd_reference_load(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.contracts.reference import load_reference_tables
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args, create=True)
    folder = args.folder or Path(args.root).resolve() / "reference"
    names = load_reference_tables(get_spark(config), config, folder)
    print(f"loaded the reference files from {folder} into {', '.join(names)}")
    return 0


def cmd_stream_start(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.ingestion import run_ingestion, stop_on_signals
    from parkpal_lakehouse.io.sources import check_reachable
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    check_reachable(config.source)
    stop = stop_on_signals(_progress)
    spark = get_spark(config)
    sessions = not args.no_sessions and set(args.hubs) == set(Hub)
    report = run_ingestion(spark, config, args.hubs, stop=stop, progress=_progress, sessions=sessions)
    state = "stopped on signal" if report.stopped_by_signal else "done"
    print(f"ingestion {state}: {report.batches} micro-batches; rows in: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(report.rows_in.items())))
    if report.stopped_by_signal or args.no_balance:
        return 0
    # Every bronze record must be in silver, in quarantine or a removed duplicate: anything else fails loudly.
    from parkpal_lakehouse.balance import ingestion_balance

    unexplained = [r for r in ingestion_balance(spark, config, list(args.hubs)).collect() if r.unexplained]
    for r in unexplained:
        print(f"parkpal stream start: error: {r.hub}: {r.unexplained:,} bronze record(s) neither in silver, "
              f"in quarantine nor duplicates (bronze {r.bronze:,} = silver {r.silver:,} + quarantine "
              f"{r.quarantine:,} + duplicates {r.duplicates_removed:,} + {r.unexplained:,})", file=sys.stderr)
    if not unexplained:
        print(f"balance: every bronze record of {len(args.hubs)} hub(s) is in silver, quarantine or a duplicate")
    return 1 if unexplained else 0


def cmd_stream_balance(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.balance import ingestion_balance
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    balance = ingestion_balance(get_spark(config), config).collect()
    print(f"{'hub':<17}{'bronze':>10}{'silver':>10}{'quarantine':>12}{'duplicates':>12}{'unexplained':>13}")
    for r in balance:
        print(f"{r.hub:<17}{r.bronze:>10,}{r.silver:>10,}{r.quarantine:>12,}{r.duplicates_removed:>12,}"
              f"{r.unexplained:>13,}")
    return 1 if any(r.unexplained for r in balance) else 0


def cmd_sessions_repair(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.sessions.backfill import repair_late_sessions

    config = _lakehouse(args)
    report = repair_late_sessions(get_spark(config), config)
    print(f"repaired {report.late_events_repaired:,} late events: {report.users:,} users re-sessionized, "
          f"{report.sessions_written:,} sessions written (horizon {report.horizon})")
    return 0


def cmd_sessions_backfill(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.sessions.backfill import backfill_sessions

    config = _lakehouse(args)
    report = backfill_sessions(get_spark(config), config, args.start, args.end)
    print(f"backfilled sessions entering in [{args.start.isoformat()}, {args.end.isoformat()}): "
          f"{report.users:,} users, {report.sessions_written:,} sessions written (horizon {report.horizon})")
    return 0


def _ground_truth(args: argparse.Namespace):
    """The simulator's truth under --root: (searches, zone occupancy per hour, manifest)."""
    from parkpal_lakehouse.simulator.truth import load_truth

    truth_dir = Path(args.root).resolve() / "truth"
    if not (truth_dir / "manifest.json").is_file():
        raise ParkPalError(f"no ground truth in {truth_dir}: accuracy needs a simulated city (`parkpal simulate`)")
    return load_truth(truth_dir)


def cmd_sessions_accuracy(args: argparse.Namespace) -> int:
    import pandas as pd

    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.sessions.accuracy import session_accuracy
    from parkpal_lakehouse.sessions.store import sessions_found

    config = _lakehouse(args)
    searches, _, manifest = _ground_truth(args)
    found = sessions_found(get_spark(config), config).toPandas()
    end = pd.Timestamp(manifest["window_end"], unit="s", tz="UTC")
    for line in session_accuracy(found, searches, end, settle_seconds=3600).lines():
        print(line)
    return 0


def _lake(args: argparse.Namespace):
    from parkpal_lakehouse.lake.setup import lake_service, resolve_credential

    return lake_service(args.account, resolve_credential(args.credential))


def cmd_lake_init(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.lake.layout import LakeRoles
    from parkpal_lakehouse.lake.setup import init_lake

    roles = LakeRoles(engineers=args.engineers, analysts=args.analysts, streaming=args.streaming)
    report = init_lake(_lake(args), roles)
    print(f"lake {args.account}: created {len(report.created)} ({', '.join(report.created) or 'nothing'}), "
          f"already there {len(report.existing)}; ACLs set on {', '.join(report.acls)}")
    return 0


def cmd_lake_upload_reference(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.contracts.reference import sample_reference_dir
    from parkpal_lakehouse.lake.setup import upload_reference

    paths = upload_reference(_lake(args), args.folder or sample_reference_dir())
    print("uploaded " + ", ".join(paths))
    return 0


def cmd_lake_status(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.lake.setup import lake_status

    status = lake_status(_lake(args))
    print(f"{'container':<13}{'exists':>8}{'files':>10}{'bytes':>16}")
    for s in status:
        print(f"{s.container:<13}{'yes' if s.exists else 'no':>8}{s.files:>10,}{s.bytes:>16,}")
    return 0


def cmd_hourly(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from parkpal_lakehouse.gold.hours import hours_between

    if (args.start is None) != (args.end is None):
        raise ParkPalError("--from and --to go together (or give --hour, or neither for the pending hours)")
    if args.hour is not None and args.start is not None:
        raise ParkPalError("give --hour or --from/--to, not both")
    hours = None
    if args.hour is not None:
        hours = hours_between(args.hour, args.hour.replace(minute=0) + _HOUR)
    elif args.start is not None:
        hours = hours_between(args.start, args.end)
    from parkpal_lakehouse.gold.hourly import run_hourly
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    if args.no_optimize:
        config = replace(config, gold=replace(config.gold, optimize_after_write=False))
    report = run_hourly(get_spark(config), config, hours, repair=not args.no_repair, progress=_progress)
    print("\n".join(report.lines()))
    return 0


def cmd_gold_maintain(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.gold.maintenance import maintain_lakehouse
    from parkpal_lakehouse.runtime.session import get_spark

    if args.retention_hours is not None and args.retention_hours < 168:
        raise ParkPalError(f"--retention-hours {args.retention_hours} would break 7-day time travel; use at least 168")
    config = _lakehouse(args)
    print("\n".join(maintain_lakehouse(get_spark(config), config, args.retention_hours).lines()))
    return 0


def cmd_gold_accuracy(args: argparse.Namespace) -> int:
    import pandas as pd

    from parkpal_lakehouse.gold.accuracy import gold_accuracy
    from parkpal_lakehouse.gold.tables import ZONE_METRICS_HOURLY
    from parkpal_lakehouse.io.tables import read_table
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    searches, occupancy, manifest = _ground_truth(args)
    metrics = read_table(get_spark(config), config, ZONE_METRICS_HOURLY).toPandas()
    if metrics.empty:
        raise ParkPalError("gold.zone_metrics_hourly is empty: run `parkpal hourly` first")
    settled = pd.Timestamp(manifest["window_end"], unit="s", tz="UTC") - pd.Timedelta(hours=1)
    print("\n".join(gold_accuracy(metrics, occupancy, searches, settled).lines()))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.session import get_spark
    from parkpal_lakehouse.serving.sql import run_sql

    if args.statement == "serve":
        from parkpal_lakehouse.serving.commands import cmd_sql_serve

        return cmd_sql_serve(args)
    if args.statement == "user":
        from parkpal_lakehouse.serving.commands import cmd_sql_user

        if not args.name:
            raise ParkPalError("`parkpal sql user` needs the account's name, e.g. `parkpal sql user analyst`")
        return cmd_sql_user(args)
    if args.name:
        raise ParkPalError(f"one SQL statement in one argument (quote it): got an extra {args.name!r}")
    if args.port is not None or args.host is not None:
        raise ParkPalError("--host and --port go with `parkpal sql serve`, not with a statement")
    if not args.statement.strip():
        raise ParkPalError("empty SQL statement")
    config = _lakehouse(args)
    print(run_sql(get_spark(config), args.statement, args.max_rows).table())
    return 0


def _series_source(args: argparse.Namespace):
    from parkpal_lakehouse.forecasting.inputs import SeriesSource

    if args.input and args.history:
        raise ParkPalError("give --input (instead of gold) or --history (before gold), not both")
    for flag, path in (("--input", args.input), ("--history", args.history)):
        if path and "://" not in path and not Path(path).exists():
            raise ParkPalError(f"{flag} {path}: no such file or folder")
    columns = {"zone_id": args.zone_column, "time": args.time_column, "occupied": args.occupied_column,
               "capacity": args.capacity_column, "rate": args.rate_column}
    return SeriesSource(input_path=args.input, input_format=args.format, history_path=args.history,
                        history_format=args.format, timezone=args.timezone, columns=columns,
                        holiday_country=getattr(args, "holiday_country", None))


def _forecast_series(args: argparse.Namespace):
    """(spark, config, source, series) for a forecast command; prints what cleaning did."""
    from dataclasses import replace

    from parkpal_lakehouse.forecasting.inputs import load_series
    from parkpal_lakehouse.forecasting.training import with_horizons
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    config = replace(config, forecast=with_horizons(config.forecast, getattr(args, "horizons", None)))
    source = _series_source(args)
    spark = get_spark(config)
    series, cleaning = load_series(spark, config, source)
    for line in cleaning:
        print(line)
    return spark, config, source, series


def _holdout(args: argparse.Namespace):
    from parkpal_lakehouse.forecasting.training import Holdout

    return Holdout.of(args.holdout_from, args.holdout_to)


def cmd_forecast_train(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.forecasting.training import train_forecaster

    spark, config, source, series = _forecast_series(args)
    report = train_forecaster(spark, config, series, source.describe(), source.calendar(config), _progress,
                              _holdout(args))
    print("\n".join(report.lines()))
    return 0


def cmd_forecast_validate(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.forecasting.registry import open_registry
    from parkpal_lakehouse.forecasting.validation import validate_challenger

    spark, config, source, series = _forecast_series(args)
    registry = open_registry(config)
    decision = validate_challenger(spark, config, registry, series, source.calendar(config), _holdout(args))
    print("\n".join(decision.lines()))
    return 0  # a refusal is a verdict (tags say why), not an error: the same exit as the job task


def cmd_forecast_score(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.forecasting.batch_inference import score_forecasts

    spark, config, _source, series = _forecast_series(args)
    print("\n".join(score_forecasts(spark, config, series, args.as_of).lines()))
    return 0


def cmd_forecast_backtest(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.forecasting.training import run_backtest

    spark, config, source, series = _forecast_series(args)
    report = run_backtest(spark, config, series, source.describe(), source.calendar(config), _progress,
                          _holdout(args))
    print("\n".join(report))
    return 0


def cmd_forecast_monitor(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.forecasting.monitoring import run_monitoring
    from parkpal_lakehouse.runtime.session import get_spark

    config = _lakehouse(args)
    print("\n".join(run_monitoring(get_spark(config), config, args.date).lines()))
    return 0


def _assignments(pairs: Sequence[str], flag: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParkPalError(f"{flag} expects NAME=VALUE, not {pair!r}")
        values[name.strip()] = value
    return values


def cmd_jobs_validate(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.jobs.validation import validate_bundle

    bundle, problems = validate_bundle(args.bundle)
    tasks = sum(len(job.get("tasks") or []) for job in bundle.jobs.values())
    if problems:
        print("\n".join(f"{bundle.path}: {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"{bundle.path}: valid ({len(bundle.jobs)} jobs, {tasks} tasks, targets {', '.join(bundle.targets)})")
    return 0


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.jobs.bundle import load_bundle, resolve_job, task_order

    bundle = load_bundle(args.bundle)
    for key in sorted(bundle.jobs):
        job = resolve_job(bundle, key, args.target)
        schedule = job.spec.get("schedule")
        trigger = ("continuous" if "continuous" in job.spec else
                   f"cron '{schedule['quartz_cron_expression']}' {schedule['timezone_id']}" if schedule else "manual")
        print(f"{key:<16} {trigger}")
        for task in task_order(job):
            runs = task.entry_point or (task.notebook.name if task.notebook else task.kind)
            after = f" (after {', '.join(task.depends_on)})" if task.depends_on else ""
            print(f"  {task.key:<18} {runs}{after}")
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.jobs.runner import LOCAL_TARGET, run_job

    if args.target != LOCAL_TARGET:
        raise ParkPalError(f"only the {LOCAL_TARGET} target runs on this machine; for {args.target}: "
                           f"databricks bundle deploy -t {args.target} && databricks bundle run -t {args.target} "
                           f"{args.job}")
    variables = _assignments(args.var, "--var")
    if args.root:
        variables["storage_root"] = str(Path(args.root).resolve())
    run = run_job(args.job, args.target, args.bundle, variables, _assignments(args.param, "--param"),
                  args.task or None, progress=_progress)
    print("\n".join(run.lines()))
    return 0 if run.succeeded else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.demo import run_demo

    return run_demo(Path(args.root).resolve(), days=args.days, fresh=args.fresh, progress=_progress,
                    zones=args.zones, users=args.users, device=args.device)


DEVICE_CHOICES = ("platform", "chatty")  # simulator/settings.DEVICE_PROFILES (not imported: keeps --help fast)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="parkpal", description="ParkPal Lakehouse: parking analytics on Delta Lake.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("setup", help="check Java and fetch the pinned JVM jars into the local cache")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("simulate", help="simulate a city's parking events with ground truth")
    _add_root(p)
    p.add_argument("--days", type=_positive_int, default=1)
    p.add_argument("--start-date", type=_iso_date, default=date(2026, 11, 2), help="first day (Asia/Manila)")
    p.add_argument("--zones", type=_positive_int, default=50)
    p.add_argument("--users", type=_positive_int, default=5000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-noise", action="store_true", help="a perfect wire: no duplicates, late or bad records")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="platform",
                   help="how phones report: 'platform' (transitions only, silent while parked, late geofence "
                        "alerts; the default) or 'chatty' (a reading every 10 s, a parked heartbeat)")
    p.add_argument("--sink", choices=("landing", "kafka", "eventhubs"), default="landing")
    p.add_argument("--bootstrap-servers", default="localhost:9092", help="for --sink kafka")
    p.add_argument("--rate", type=_positive_float, default=None,
                   help="messages per second (default: as fast as possible)")
    p.add_argument("--history-profile", choices=("hourly", "car-parks"), default="hourly",
                   help="with --history-weeks: 'hourly' (every zone, hourly, with gaps and bad readings) or "
                        "'car-parks' (car parks only, half-hourly while open 07:30-16:30, days missing)")
    p.add_argument("--history-weeks", type=int, default=0,
                   help="also write N weeks of hourly occupancy before the first day to <root>/history/ "
                        "(an operator-style export with gaps and bad readings, for forecasting)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("reference", help="reference data (zones, vehicles)")
    ref = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    p = ref.add_parser("load", help="load zones.csv, vehicles.csv (and street_counts.csv) into silver")
    _add_root(p)
    p.add_argument("--folder", type=Path, default=None,
                   help="folder holding zones.csv and vehicles.csv (default: <root>/reference)")
    p.set_defaults(func=cmd_reference_load)

    p = sub.add_parser("stream", help="streaming: Event Hubs / Kafka / landing -> bronze -> silver -> parking sessions")
    stream = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    p = stream.add_parser("start", help="run the bronze, silver and sessionization queries")
    _add_root(p)
    p.add_argument("--hubs", type=_hubs, default=_hubs("activity-events,geofence-events,gate-events"),
                   help="comma-separated hubs (default: all three)")
    p.add_argument("--source", choices=("landing", "kafka", "eventhubs"), default="landing")
    p.add_argument("--bootstrap-servers", default="", help="Kafka bootstrap servers for --source kafka")
    p.add_argument("--trigger", type=_trigger, default="availableNow",
                   help="availableNow (backfill, then exit) or processingTime='10 seconds' (continuous)")
    p.add_argument("--max-files-per-trigger", type=_positive_int, default=None)
    p.add_argument("--max-offsets-per-trigger", type=_positive_int, default=None)
    p.add_argument("--no-quality", action="store_true", help="skip the great-expectations checks")
    p.add_argument("--no-sessions", action="store_true",
                   help="skip sessionization (it runs when all three hubs are ingested)")
    p.add_argument("--no-balance", action="store_true",
                   help="skip the closing balance (bronze = silver + quarantine + duplicates; exit 1 if not)")
    p.set_defaults(func=cmd_stream_start)
    p = stream.add_parser("balance", help="bronze = silver + quarantine + duplicates, per hub")
    _add_root(p)
    p.set_defaults(func=cmd_stream_balance)

    p = sub.add_parser("sessions", help="sessionization: repair after late events, backfill, accuracy")
    sessions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    p = sessions.add_parser("repair", help="re-sessionize the users with late events (upsert by session id)")
    _add_root(p)
    p.set_defaults(func=cmd_sessions_repair)
    p = sessions.add_parser("backfill", help="rebuild the sessions entering in a time range from silver")
    _add_root(p)
    p.add_argument("--from", dest="start", type=_iso_datetime, required=True, help="e.g. 2026-11-02T00:00")
    p.add_argument("--to", dest="end", type=_iso_datetime, required=True, help="exclusive end")
    p.set_defaults(func=cmd_sessions_backfill)
    p = sessions.add_parser("accuracy", help="compare the sessions with the simulator's ground truth")
    _add_root(p)
    p.set_defaults(func=cmd_sessions_accuracy)

    p = sub.add_parser("lake", help="ADLS Gen2 lake setup on Azure: file systems, directories, ACLs")
    lake = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    for action, helptext, func in (
        ("init", "create the containers and directories and apply the ACLs per role (idempotent)", cmd_lake_init),
        ("upload-reference", "upload the reference CSVs to landing/reference/", cmd_lake_upload_reference),
        ("status", "list the containers with their file counts and sizes", cmd_lake_status),
    ):
        p = lake.add_parser(action, help=helptext)
        p.add_argument("--account", required=True, help="storage account name (terraform output storage_account)")
        p.add_argument("--credential", default="default",
                       help="'default' (Entra ID: az login, managed identity, service principal env) or "
                            "'env:VAR' (a SAS token or account key in environment variable VAR)")
        if action == "init":
            for role in ("engineers", "analysts", "streaming"):
                p.add_argument(f"--{role}", required=True, help=f"Entra ID object id of the {role} group/identity")
        if action == "upload-reference":
            p.add_argument("--folder", type=Path, default=None, help="folder with zones.csv and vehicles.csv "
                                                                     "(default: the packaged sample city)")
        p.set_defaults(func=func)

    p = sub.add_parser("hourly", help="the hourly gold job: silver -> gold tables for closed hours (idempotent)")
    _add_root(p)
    p.add_argument("--hour", type=_iso_datetime, default=None, help="one hour, e.g. 2026-11-02T08:00 (UTC)")
    p.add_argument("--from", dest="start", type=_iso_datetime, default=None, help="first hour of a range")
    p.add_argument("--to", dest="end", type=_iso_datetime, default=None, help="exclusive end of the range")
    p.add_argument("--no-repair", action="store_true", help="skip re-sessionizing users with late events first")
    p.add_argument("--no-optimize", action="store_true", help="skip OPTIMIZE of the partitions written")
    p.set_defaults(func=cmd_hourly)

    p = sub.add_parser("gold", help="gold table maintenance and accuracy")
    gold = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    p = gold.add_parser("maintain", help="OPTIMIZE (Z-order) the gold tables and VACUUM bronze/silver/gold")
    _add_root(p)
    p.add_argument("--retention-hours", type=_positive_int, default=None,
                   help="history VACUUM keeps (default 168 = 7 days; less is refused)")
    p.set_defaults(func=cmd_gold_maintain)
    p = gold.add_parser("accuracy", help="compare zone_metrics_hourly with the simulator's ground truth")
    _add_root(p)
    p.set_defaults(func=cmd_gold_accuracy)

    p = sub.add_parser("forecast", help="occupancy forecasting with MLflow: train, validate, score, backtest, monitor")
    forecast = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    for action, helptext, func in (
        ("train", "backtest, fit and register a new version as @challenger", cmd_forecast_train),
        ("validate", "promote @challenger to @champion if it beats the baselines and the champion "
                     "(a refusal changes nothing and exits 0, as the job task does)", cmd_forecast_validate),
        ("score", "forecast the next 24 hours of every zone with @champion into gold.zone_occupancy_forecast",
         cmd_forecast_score),
        ("backtest", "rolling-origin backtest of the model and the baselines on any hourly occupancy table",
         cmd_forecast_backtest),
    ):
        p = forecast.add_parser(action, help=helptext)
        _add_root(p)
        p.add_argument("--input", default=None, help="an hourly occupancy table to use instead of "
                                                      "gold.zone_metrics_hourly (CSV file/folder or Delta path)")
        p.add_argument("--history", default=None, help="older occupancy of the same zones that extends gold "
                                                        "backwards (gold wins from each zone's first gold hour)")
        p.add_argument("--format", choices=("csv", "delta"), default="csv", help="of --input / --history")
        p.add_argument("--timezone", default=None, help="of naive input timestamps and of the calendar features "
                                                        "(default: the deployment's, Asia/Manila)")
        if action != "score":  # scoring uses the calendar the champion was trained with
            p.add_argument("--holiday-country", default=None,
                           help="ISO country whose public holidays the calendar marks, or `none` (default: the "
                                "timezone's country, e.g. Europe/London -> GB)")
            p.add_argument("--holdout-from", type=_iso_datetime, default=None,
                           help="score a chosen window instead of the rolling origins: first origin hour (UTC "
                                "unless an offset is given); the model is fitted on the data before it")
            p.add_argument("--holdout-to", type=_iso_datetime, default=None, help="end of that window (exclusive)")
            p.add_argument("--horizons", default=None,
                           help="hours ahead to report, comma-separated (default 1,6,24)")
        for role in ("zone", "time", "occupied", "capacity", "rate"):
            p.add_argument(f"--{role}-column", default=None, help=f"input column holding the {role} "
                                                                  "(default: recognised by name)")
        if action == "score":
            p.add_argument("--as-of", type=_iso_datetime, default=None,
                           help="the last observed hour to forecast from (default: the newest)")
        p.set_defaults(func=func)
    p = forecast.add_parser("monitor", help="score a day's forecasts against actuals into gold.forecast_accuracy_daily")
    _add_root(p)
    p.add_argument("--date", type=_iso_date, default=None, help="local day (default: the newest complete day)")
    p.set_defaults(func=cmd_forecast_monitor)

    p = sub.add_parser("sql", help="run Spark SQL against the local catalog (e.g. SELECT * FROM gold.v_zone_daily), "
                                   "or `sql serve`: a read-only JDBC/ODBC endpoint over gold, `sql user NAME`: "
                                   "an analyst account for it")
    p.add_argument("statement", help="one SQL statement, `serve` to start the SQL endpoint, or `user`")
    p.add_argument("name", nargs="?", default=None, help="with user: the account to create or rotate")
    _add_root(p)
    p.add_argument("--max-rows", type=_positive_int, default=100)
    p.add_argument("--host", default=None, help="with serve: interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=None, help="with serve: port (default 10000)")
    p.set_defaults(func=cmd_sql)

    _add_serving_commands(sub)

    p = sub.add_parser("jobs", help="the Databricks Asset Bundle in jobs/: validate it, list its jobs, run one locally")
    jobs = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    p = jobs.add_parser("validate", help="check the bundle offline (job model, variables, entry points, "
                                          "notebooks, DAGs, schedules)")
    p.add_argument("--bundle", default=None, help="databricks.yml (default: jobs/databricks.yml here or above)")
    p.set_defaults(func=cmd_jobs_validate)
    p = jobs.add_parser("list", help="the jobs, their triggers and their tasks in run order")
    p.add_argument("--bundle", default=None, help="databricks.yml (default: jobs/databricks.yml here or above)")
    p.add_argument("--target", default="local")
    p.set_defaults(func=cmd_jobs_list)
    p = jobs.add_parser("run", help="run a job's tasks here in dependency order, with the bundle's parameters "
                                    "for the local target")
    p.add_argument("job", help="job key, e.g. hourly (see `parkpal jobs list`)")
    p.add_argument("--target", default="local", help="bundle target (only local runs here)")
    p.add_argument("--root", default=None, help="local storage root (sets the storage_root variable)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a bundle variable")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="set a job parameter")
    p.add_argument("--task", action="append", default=[], metavar="KEY", help="run only this task (repeatable)")
    p.add_argument("--bundle", default=None, help="databricks.yml (default: jobs/databricks.yml here or above)")
    p.set_defaults(func=cmd_jobs_run)

    p = sub.add_parser("demo", help="run the pipeline end to end on the embedded default (landing files)")
    _add_root(p)
    p.add_argument("--days", type=_positive_int, default=2)
    p.add_argument("--zones", type=_positive_int, default=50, help="of a new simulated city")
    p.add_argument("--users", type=_positive_int, default=5000, help="of a new simulated city")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="platform",
                   help="how the simulated phones report (see `parkpal simulate --help`)")
    p.add_argument("--fresh", action="store_true", help="delete the root first and start over")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    command = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
    try:
        return func(args)
    except ParkPalError as exc:
        print(f"parkpal {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"parkpal {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
