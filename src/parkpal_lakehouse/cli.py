"""The `parkpal` command: the pipeline steps' subcommands (made from `steps.STEPS`), and what is not a
step: setup, simulate, demo, jobs, sql / share / dashboard (serving/commands.py), lake (lake/commands.py).

Every failure the user can fix is one line on stderr (`parkpal <cmd>: error: ...`) and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.runtime.clock import use_utc
from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps.options import day, positive_int
from parkpal_lakehouse.steps.step import DEFAULT_ROOT, Step, progress

DEVICE_CHOICES = ("platform", "chatty")  # simulator/settings.DEVICE_PROFILES (not imported: keeps --help fast)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that names the problem and points at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


VERBOSE_HELP = ("show Spark's, MLflow's and other libraries' own output here (by default it goes to "
                "<root>/logs/parkpal.log)")


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=DEFAULT_ROOT, help="local storage root of the lakehouse (default: %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)


def _library_output(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """A command on an existing local root: libraries' output goes to <root>/logs/parkpal.log while it runs,
    the terminal keeps ours, unless --verbose. Not for commands without the flag, nor the demo (it routes
    after --fresh)."""
    from parkpal_lakehouse.runtime.console import LIBRARY_LOG_ENV, library_log_path, library_output_to

    if getattr(args, "verbose", False):
        os.environ.pop(LIBRARY_LOG_ENV, None)  # not even through a parent process's environment
    if getattr(args, "verbose", True) or getattr(args, "func", None) is cmd_demo:
        return contextlib.nullcontext()
    root = getattr(args, "storage_root", None) or getattr(args, "root", None)
    if (getattr(args, "target", None) or "local") != "local" or not root or not Path(root).is_dir():
        return contextlib.nullcontext()
    return library_output_to(library_log_path(Path(root).resolve()))


def _assignments(pairs: Sequence[str], flag: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ParkPalError(f"{flag} expects NAME=VALUE, not {pair!r}")
        values[name.strip()] = value
    return values


# --- commands that are not pipeline steps ----------------------------------------------------------
def cmd_setup(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.runtime.class_archive import CLASS_ARCHIVE_ENV, archive_path, build_archive, turned_off
    from parkpal_lakehouse.runtime.jars import KAFKA_BROKER_JARS, SPARK_JARS, ensure_jars, java_executable

    java = java_executable()
    for jar_set in (SPARK_JARS, KAFKA_BROKER_JARS):
        started = time.perf_counter()
        jars = ensure_jars(jar_set)
        progress(f"{jar_set.name} jars: {len(jars)} cached in {jars[0].parent} ({time.perf_counter() - started:.1f}s)")
    started, archive = time.perf_counter(), archive_path(java)
    if turned_off():
        progress(f"JVM class archive: not made ({CLASS_ARCHIVE_ENV}=0)")
        return 0
    if archive.is_file():
        progress(f"JVM class archive: {archive} (made before)")
        return 0
    try:
        archive = build_archive(java)
    except ParkPalError as err:  # a cache, never required: Spark starts without it
        progress(str(err))
        return 0
    progress(f"JVM class archive: {archive.stat().st_size / 2**20:.0f} MB in {archive} "
             f"({time.perf_counter() - started:.1f}s; Spark starts from it)")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.simulator.run import simulate
    from parkpal_lakehouse.simulator.settings import NoiseSettings, SimulationSettings
    from parkpal_lakehouse.simulator.sinks import EventHubsSink, KafkaSink

    settings = SimulationSettings(seed=args.seed, start_date=args.start_date, days=args.days, zones=args.zones,
                                  users=args.users, noise=NoiseSettings.off() if args.no_noise else NoiseSettings(),
                                  device=args.device)
    root = Path(args.root).resolve()
    sink = KafkaSink(args.bootstrap_servers) if args.sink == "kafka" else EventHubsSink() \
        if args.sink == "eventhubs" else None
    if args.history_weeks < 0:
        raise ParkPalError(f"--history-weeks must be 0 or more, not {args.history_weeks}")
    if sink is not None:
        sink.probe()  # an unreachable broker or namespace fails here, before anything is written
    report = simulate(settings, root, sink=sink, rate=args.rate, progress=progress)
    if args.history_weeks:
        from parkpal_lakehouse.simulator.history import write_history

        path, history = write_history(settings, args.history_weeks, root, args.history_profile)
        print(f"history: {len(history):,} zone-hours over {args.history_weeks} weeks before {settings.start_date} "
              f"in {path} ({args.history_profile})")
    print(f"simulated {report.events:,} events ({report.messages:,} messages with noise) and "
          f"{report.searches:,} searches in {report.seconds:.1f}s = {report.events_per_second:,.0f} messages/s; "
          f"ground truth in {root / 'truth'}")
    return 0


def cmd_jobs_validate(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.jobs.validation import validate_bundle

    bundle, problems = validate_bundle(args.bundle)
    tasks = sum(len(job.get("tasks") or []) for job in bundle.jobs.values())
    if problems:
        print("\n".join(f"{bundle.path}: {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"{bundle.path}: valid ({len(bundle.jobs)} jobs, {tasks} tasks, "
          f"{len(bundle.serving_endpoints)} serving endpoint(s), targets {', '.join(bundle.targets)})")
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
                  args.task or None, progress=progress)
    print("\n".join(run.lines()))
    return 0 if run.succeeded else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.demo import run_demo
    from parkpal_lakehouse.runtime.console import Console, library_log_path

    root = Path(args.root).resolve()
    return run_demo(root, days=args.days, fresh=args.fresh, progress=progress, zones=args.zones, users=args.users,
                    # --verbose: the JVM writes to the terminal directly, which a live display would garble
                    device=args.device, console=Console(live=False) if args.verbose else Console(),
                    library_log=None if args.verbose else library_log_path(root))


# --- the parser --------------------------------------------------------------------------------------
GROUP_HELP = {
    "reference": "reference data (zones, vehicles)",
    "stream": "streaming: Event Hubs / Kafka / landing -> bronze -> silver -> parking sessions",
    "sessions": "sessionization: repair after late events, backfill, accuracy",
    "gold": "gold quality, table maintenance and accuracy",
    "forecast": "occupancy forecasting with MLflow: train, validate, score, backtest, monitor",
}


def _add_steps(sub: argparse._SubParsersAction) -> None:
    """One subcommand per step (`parkpal hourly`, `parkpal forecast train`), its options from the Step."""
    groups: dict[str, argparse._SubParsersAction] = {}
    for step in STEPS.values():
        if len(step.command) == 1:
            p = sub.add_parser(step.command[0], help=step.summary, description=step.summary)
        else:
            group, name = step.command
            if group not in groups:
                groups[group] = sub.add_parser(group, help=GROUP_HELP[group]).add_subparsers(
                    dest="action", required=True, metavar="ACTION", parser_class=_Parser)
            p = groups[group].add_parser(name, help=step.summary, description=step.summary)
        step.add_arguments(p)
        p.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)  # the CLI's only, not a job's
        p.set_defaults(step=step)


def build_parser() -> argparse.ArgumentParser:
    from parkpal_lakehouse.lake import commands as lake
    from parkpal_lakehouse.serving import commands as serving

    parser = _Parser(prog="parkpal", description="ParkPal Lakehouse: parking analytics on Delta Lake.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("setup", help="check Java, fetch the pinned JVM jars into the local cache, archive their "
                                     "classes (the JVM starts from them)")
    p.set_defaults(func=cmd_setup)

    p = sub.add_parser("simulate", help="simulate a city's parking events with ground truth")
    _add_root(p)
    p.add_argument("--days", type=positive_int, default=1)
    p.add_argument("--start-date", type=day, default=date(2026, 11, 2), help="first day (Asia/Manila)")
    p.add_argument("--zones", type=positive_int, default=50)
    p.add_argument("--users", type=positive_int, default=5000)
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

    _add_steps(sub)
    serving.add_commands(sub, _Parser, _add_root)
    lake.add_commands(sub, _Parser)

    p = sub.add_parser("jobs", help="the Databricks Asset Bundle in jobs/: validate it, list its jobs, run one locally")
    jobs = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    bundle_help = "databricks.yml (default: jobs/databricks.yml here or above)"
    p = jobs.add_parser("validate", help="check the bundle offline (job model, variables, entry points, "
                                          "notebooks, DAGs, schedules, task parameters against their steps)")
    p.add_argument("--bundle", default=None, help=bundle_help)
    p.set_defaults(func=cmd_jobs_validate)
    p = jobs.add_parser("list", help="the jobs, their triggers and their tasks in run order")
    p.add_argument("--bundle", default=None, help=bundle_help)
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
    p.add_argument("--bundle", default=None, help=bundle_help)
    p.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP + "; with --root")
    p.set_defaults(func=cmd_jobs_run)

    p = sub.add_parser("demo", help="run the pipeline end to end on the embedded default (landing files)")
    _add_root(p)
    # demo.DEMO_DAYS / DEMO_ZONES / DEMO_USERS (not imported: keeps --help fast)
    p.add_argument("--days", type=positive_int, default=2, help="of a new simulated city (default: %(default)s)")
    p.add_argument("--zones", type=positive_int, default=20, help="of a new simulated city (default: %(default)s)")
    p.add_argument("--users", type=positive_int, default=2000,
                   help="app users of a new simulated city (default: %(default)s)")
    p.add_argument("--device", choices=DEVICE_CHOICES, default="platform",
                   help="how the simulated phones report (see `parkpal simulate --help`)")
    p.add_argument("--fresh", action="store_true", help="delete the root first and start over")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    use_utc()  # PySpark's timestamps are in the process's zone: UTC, as on Databricks (runtime/clock.py)
    args = build_parser().parse_args(argv)
    command = " ".join(filter(None, [args.command, getattr(args, "action", None)]))
    try:
        with _library_output(args):
            step: Step | None = getattr(args, "step", None)
            if step is not None:
                return step.execute(args, progress, door="cli")
            func: Callable[[argparse.Namespace], int] = args.func
            return func(args)
    except ParkPalError as exc:
        print(f"parkpal {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"parkpal {command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
