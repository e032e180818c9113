"""The `parkpal` command. Parses arguments, builds config, calls the library; nothing else.

Every failure the user can fix is one line on stderr (`parkpal <cmd>: error: ...`) and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError

DEFAULT_ROOT = "./lakehouse"


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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_root(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", default=DEFAULT_ROOT, help="local storage root of the lakehouse (default: %(default)s)")


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
        noise=NoiseSettings.off() if args.no_noise else NoiseSettings(),
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
    report = simulate(settings, root, sink=sink, rate=args.rate, progress=_progress)
    print(
        f"simulated {report.events:,} events ({report.messages:,} messages with noise) and "
        f"{report.searches:,} searches in {report.seconds:.1f}s = {report.events_per_second:,.0f} messages/s; "
        f"ground truth in {root / 'truth'}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from parkpal_lakehouse.demo import run_demo

    return run_demo(Path(args.root).resolve(), days=args.days, fresh=args.fresh, progress=_progress)


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
    p.add_argument("--sink", choices=("landing", "kafka", "eventhubs"), default="landing")
    p.add_argument("--bootstrap-servers", default="localhost:9092", help="for --sink kafka")
    p.add_argument("--rate", type=float, default=None, help="messages per second (default: as fast as possible)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="run the pipeline end to end on the embedded default (landing files)")
    _add_root(p)
    p.add_argument("--days", type=_positive_int, default=2)
    p.add_argument("--fresh", action="store_true", help="delete the root first and start over")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ParkPalError as exc:
        print(f"parkpal {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"parkpal {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
