"""What every job step shares: its parameters, the config built from them, Spark, and how it ends.

A step is one task of the bundle's jobs. Databricks calls it as a `python_wheel_task` entry point with
`--name=value` parameters; the job's own parameters (catalog, storage root...) are pushed down to every
task, so a step accepts the shared ones and skips, with a note, the ones meant for a sibling task.
Notebooks and `parkpal jobs run` call the same functions with the same parameters.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import cached_property

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import Environment, LakehouseConfig, databricks_config, local_config
from parkpal_lakehouse.errors import ConfigError, ParkPalError

TARGETS = tuple(e.value for e in Environment)


class StepArgumentError(ParkPalError):
    """A task parameter is missing or malformed."""


class _StepParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise StepArgumentError(message)


def optional_text(text: str) -> str | None:
    """Job parameters cannot be absent, only empty: empty means "not given"."""
    return text.strip() or None


def optional_datetime(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time like 2026-11-02T06:00 (UTC unless an offset is "
                                         f"given), not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def optional_date(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-02, not {text!r}") from None


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None


def add_option(parser: argparse.ArgumentParser, name: str, **kwargs: object) -> None:
    """`--name` as the bundle writes it (`--storage_root`), and `--storage-root` for people."""
    flags = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
    parser.add_argument(*flags, dest=name, **kwargs)  # type: ignore[arg-type]


def lakehouse_options(parser: argparse.ArgumentParser) -> None:
    """The parameters every job passes to every task (the bundle's `parameters`)."""
    add_option(parser, "target", choices=TARGETS, default=Environment.LOCAL.value,
               help="bundle target: local (this machine), dev or prod (Databricks)")
    add_option(parser, "catalog", default="", help="Unity Catalog catalog (dev/prod)")
    add_option(parser, "schema_prefix", default="", help="prefix of the layer schemas (per user in dev)")
    add_option(parser, "storage_root", default="./lakehouse",
               help="local folder, or abfss://{container}@<account>.dfs.core.windows.net")
    add_option(parser, "eventhubs_namespace", default="", help="Event Hubs namespace (dev/prod)")
    add_option(parser, "secret_scope", default="parkpal", help="Databricks secret scope (dev/prod)")


def lakehouse_config(args: argparse.Namespace) -> LakehouseConfig:
    """The environment the parameters name: the embedded local default, or a Databricks one."""
    if args.target == Environment.LOCAL.value:
        return local_config(args.storage_root)
    if not args.catalog or "://" not in args.storage_root:
        raise ConfigError(f"target {args.target} needs --catalog and an abfss:// --storage_root "
                          f"(got catalog {args.catalog!r}, storage root {args.storage_root!r})")
    return databricks_config(Environment(args.target), catalog=args.catalog, storage_root=args.storage_root,
                             schema_prefix=args.schema_prefix, eventhubs_namespace=args.eventhubs_namespace,
                             secret_scope=args.secret_scope)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StepContext:
    """The config a step runs against, and Spark / dbutils built only when the step asks."""

    def __init__(self, config: LakehouseConfig, report: Callable[[str], None] = progress) -> None:
        self.config = config
        self.progress = report

    def configure(self, **changes: object) -> None:
        """Adjust the config before Spark is first used (a source, a trigger)."""
        self.config = replace(self.config, **changes)

    @cached_property
    def spark(self) -> SparkSession:
        from parkpal_lakehouse.runtime.session import get_spark

        return get_spark(self.config)

    @cached_property
    def dbutils(self) -> object | None:
        from parkpal_lakehouse.runtime.session import get_dbutils

        return get_dbutils(self.spark)


@dataclass(frozen=True)
class Step:
    """One job task: its console script name, its own parameters, and what it does (exit code)."""

    script: str
    summary: str
    options: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, StepContext], int]

    def parser(self) -> argparse.ArgumentParser:
        parser = _StepParser(prog=self.script, description=self.summary)
        lakehouse_options(parser)
        self.options(parser)
        return parser

    def parameter_names(self) -> list[str]:
        """Every `--name` the step reads, as the bundle and notebook widgets spell it."""
        return [a.dest for a in self.parser()._actions if a.dest != "help"]

    def __call__(self, argv: Sequence[str] | None = None, report: Callable[[str], None] = progress) -> int:
        """Run with `argv` (default: the process's arguments). Errors are one line on stderr."""
        argv = list(sys.argv[1:] if argv is None else argv)
        try:
            args, unknown = self.parser().parse_known_args(argv)
            unknown = [u for u in unknown if not u.endswith("=")]  # an empty job parameter says nothing
            if unknown:
                report(f"{self.script}: not read by this task (job parameters reach every task): "
                       + " ".join(unknown))
            return self.run(args, StepContext(lakehouse_config(args), report))
        except ParkPalError as exc:
            print(f"{self.script}: error: {exc}", file=sys.stderr, flush=True)
            return 2


def entry_point(step: Step) -> Callable[[Sequence[str] | None], None]:
    """The `[project.scripts]` function: returns on success, raises SystemExit(code) otherwise, which
    is what fails a Databricks wheel task (it ignores return values) and sets a console exit code."""

    def main(argv: Sequence[str] | None = None) -> None:
        code = step(argv)
        if code:
            raise SystemExit(code)

    main.__doc__ = step.summary
    main.step = step  # type: ignore[attr-defined]
    return main
