"""What a pipeline step is: its options, the config they build, Spark, and how it ends.

A `Step` is defined once (steps/__init__.py lists them) and reached three ways, all parsing the same
`Option`s with the same types:
- `parkpal <group> <step> --option value`: the CLI subcommand (`cli.py` generates it);
- `parkpal-<script> --option=value`: the `[project.scripts]` entry point a bundle's `python_wheel_task`
  calls (`steps/entry_points.py`); job parameters reach every task, so a step notes and skips the ones
  meant for a sibling task, and an empty value means "not given";
- a notebook's widgets, one per option (`jobs/notebooks.py`).
Every door builds its `LakehouseConfig` with `lakehouse_config` and ends the same way: the step's exit
code, and a library error as one line (`<door>: error: ...`, exit 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parkpal_lakehouse.config import Environment, LakehouseConfig, databricks_config, local_config
from parkpal_lakehouse.errors import ConfigError, ParkPalError
from parkpal_lakehouse.runtime.clock import use_utc

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

TARGETS = tuple(e.value for e in Environment)
DEFAULT_ROOT = "./lakehouse"


class StepArgumentError(ParkPalError):
    """A parameter is missing or malformed."""


def progress(message: str) -> None:
    """Progress of long work: timestamped, on stderr (results go to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Option:
    """One parameter of a step, spelled `name` in the bundle and in widgets (`storage_root`), and
    `--storage-root` (or `--storage_root`, or an alias such as `--root`) on the command line.

    `parse` turns the text into the value (an `argparse.ArgumentTypeError` names what is wrong); blank
    text means "not given" (job parameters cannot be absent, only empty) and leaves `default`. A `switch`
    is `--no-quality` on the CLI and `--no_quality=true` in a job. `to_config` is how the value changes
    the config (most options are read by the step itself and have none).
    """

    name: str
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None
    choices: tuple[str, ...] = ()
    switch: bool = False
    required: bool = False
    aliases: tuple[str, ...] = ()
    to_config: Callable[[LakehouseConfig, Any], LakehouseConfig] | None = None

    @property
    def flags(self) -> list[str]:
        names = [*([self.name.replace("_", "-")] if "_" in self.name else []), self.name, *self.aliases]
        return [f"--{n}" for n in names]

    def convert(self, text: str) -> Any:
        if not text.strip():
            return None
        if self.choices and text.strip() not in self.choices:
            raise argparse.ArgumentTypeError(f"invalid choice: {text.strip()!r} (choose from "
                                             f"{', '.join(self.choices)})")
        return self.parse(text.strip())

    def add_to(self, parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
        extra = f" ({' | '.join(self.choices)})" if self.choices else ""
        if self.switch:
            parser.add_argument(*self.flags, dest=self.name, nargs="?", const=True, default=False, type=switch,
                                metavar="true|false", help=self.help)
            return
        default = "" if self.default in (None, "") else f"; default {self.default}"
        parser.add_argument(*self.flags, dest=self.name, type=self.convert, default=self.default,
                            required=self.required, metavar=self.name.upper(), help=f"{self.help}{extra}{default}")

    def widget_default(self) -> str:
        if self.switch:
            return "false"
        return "" if self.default is None else str(self.default)


def switch(text: str) -> bool | None:
    value = text.strip().lower()
    if not value:
        return None
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def fill_defaults(args: argparse.Namespace, options: Sequence[Option]) -> argparse.Namespace:
    """Blank means "not given": a parameter left empty (or argparse's converted blank default) takes its
    option's default, so `--trigger=` is availableNow and `--no_optimize=` is false."""
    for option in options:
        if getattr(args, option.name, None) is None:
            setattr(args, option.name, False if option.switch else option.default)
    return args


class _ArgumentParser(argparse.ArgumentParser):
    """A step's own parser (entry points, notebooks): errors raise, blanks take defaults."""

    def __init__(self, options: Sequence[Option], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def, override]
        parsed, unknown = super().parse_known_args(args, namespace)
        return fill_defaults(parsed, self.options), unknown

    def error(self, message: str) -> None:  # type: ignore[override]
        raise StepArgumentError(message)


# The parameters every job passes to every task (the bundle's job `parameters`): which lakehouse.
LAKEHOUSE_OPTIONS: tuple[Option, ...] = (
    Option("target", "bundle target: local (this machine), dev or prod (Databricks)", choices=TARGETS,
           default=Environment.LOCAL.value),
    Option("catalog", "Unity Catalog catalog (dev/prod)", default=""),
    Option("schema_prefix", "prefix of the layer schemas (per user in dev)", default=""),
    Option("storage_root", "the lakehouse's root: a local folder, or abfss://{container}@<account>.dfs.core."
           "windows.net", default=DEFAULT_ROOT, aliases=("root",)),
    Option("eventhubs_namespace", "Event Hubs namespace (dev/prod)", default=""),
    Option("secret_scope", "Databricks secret scope (dev/prod)", default="parkpal"),
)


def lakehouse_config(values: Mapping[str, Any], options: Sequence[Option] = (), new_root: bool = False,
                     root_flag: str = "--root") -> LakehouseConfig:
    """The one config builder: the environment the lakehouse options name (the embedded local default,
    or a Databricks one), then each given option's change. Locally the root must exist unless the step
    makes a lakehouse (a mistyped root must not become a new empty one)."""
    target = values.get("target") or Environment.LOCAL.value
    root = values.get("storage_root") or DEFAULT_ROOT
    if target == Environment.LOCAL.value:
        if not new_root and not Path(root).is_dir():
            raise ParkPalError(f"{root_flag} {root} does not exist: give the folder of a lakehouse (made by "
                               "`parkpal demo`, `parkpal simulate` or `parkpal reference load`)")
        config = local_config(root)
    else:
        catalog = values.get("catalog") or ""
        if not catalog or "://" not in root:
            raise ConfigError(f"target {target} needs --catalog and an abfss:// --storage_root "
                              f"(got catalog {catalog!r}, storage root {root!r})")
        config = databricks_config(Environment(target), catalog=catalog, storage_root=root,
                                   schema_prefix=values.get("schema_prefix") or "",
                                   eventhubs_namespace=values.get("eventhubs_namespace") or "",
                                   secret_scope=values.get("secret_scope") or "parkpal")
    for option in options:
        value = values.get(option.name)
        if option.to_config is not None and value is not None and value is not False:
            config = option.to_config(config, value)
    return config


def root_config(root: str | Path, new_root: bool = False) -> LakehouseConfig:
    """The local lakehouse at `root` (commands that are not steps: serving, the demo)."""
    return lakehouse_config({"storage_root": str(root)}, new_root=new_root)


class StepContext:
    """The config a step runs against, and Spark / dbutils built only when the step asks.

    `door` is how the step was reached (cli, job, notebook): it only changes hints such as "next, run ...".
    """

    def __init__(self, config: LakehouseConfig, report: Callable[[str], None] = progress, door: str = "cli",
                 name: str = "parkpal") -> None:
        self.config = config
        self.progress = report
        self.door = door
        self.name = name  # how errors name the step: `parkpal hourly` or `parkpal-gold-hourly`

    @cached_property
    def spark(self) -> SparkSession:
        """The session; a local one also gets the catalog step (this root's tables and views in its
        in-memory catalog). Databricks' catalog persists: there the setup and hourly steps maintain it."""
        from parkpal_lakehouse.runtime.session import get_spark
        from parkpal_lakehouse.steps.catalog import prepare_catalog

        spark = get_spark(self.config)
        if self.config.is_local:
            prepare_catalog(spark, self.config)
        return spark

    @cached_property
    def dbutils(self) -> object | None:
        from parkpal_lakehouse.runtime.session import get_dbutils

        return get_dbutils(self.spark)


Values = argparse.Namespace


@dataclass(frozen=True)
class Step:
    """One pipeline step: where it is reached (`parkpal <command>`, console script `script`, exported as
    `steps.entry_points.<function>`), its own options, and what it does (returns the exit code)."""

    command: tuple[str, ...]
    script: str
    function: str
    summary: str
    run: Callable[[Values, StepContext], int]
    options: tuple[Option, ...] = ()
    new_root: bool = False
    # Checks the step's own options together (a range given by half) before any config or Spark.
    check: Callable[[Values], None] | None = None

    @property
    def all_options(self) -> tuple[Option, ...]:
        return LAKEHOUSE_OPTIONS + self.options

    def parameter_names(self) -> list[str]:
        """Every parameter the step reads, as the bundle and notebook widgets spell it."""
        return [o.name for o in self.all_options]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        for option in self.options:
            option.add_to(parser)
        group = parser.add_argument_group("lakehouse (job parameters)")
        for option in LAKEHOUSE_OPTIONS:
            option.add_to(group)

    def parser(self) -> argparse.ArgumentParser:
        parser = _ArgumentParser(self.all_options, prog=self.script, description=self.summary)
        self.add_arguments(parser)
        return parser

    def config(self, args: Values, door: str = "cli") -> LakehouseConfig:
        return lakehouse_config(vars(args), self.all_options, self.new_root,
                                "--root" if door == "cli" else "--storage_root")

    def execute(self, args: Values, report: Callable[[str], None] = progress, door: str = "cli") -> int:
        """Run with parsed arguments (the CLI's and the entry point's common path)."""
        use_utc()  # PySpark's timestamps are in the process's zone: UTC, as on Databricks (runtime/clock.py)
        name = f"parkpal {' '.join(self.command)}" if door == "cli" else self.script
        fill_defaults(args, self.all_options)
        if self.check is not None:
            self.check(args)
        return self.run(args, StepContext(self.config(args, door), report, door, name))

    def __call__(self, argv: Sequence[str] | None = None, report: Callable[[str], None] = progress,
                 door: str = "job") -> int:
        """Run as a job task with `argv` (default: the process's). Errors are one line on stderr, exit 2."""
        argv = list(sys.argv[1:] if argv is None else argv)
        try:
            args, unknown = self.parser().parse_known_args(argv)
            unknown = [u for u in unknown if not u.endswith("=")]  # an empty job parameter says nothing
            if unknown:
                report(f"{self.script}: not read by this task (job parameters reach every task): " + " ".join(unknown))
            return self.execute(args, report, door)
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
    main.__name__ = step.function
    main.step = step  # type: ignore[attr-defined]
    return main
