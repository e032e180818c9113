"""Value types of step options, and the option sets several steps share.

Each type turns a parameter's text into its value or raises `argparse.ArgumentTypeError` saying what
was expected; blank text never reaches them (it means "not given", see `Option`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, date, datetime

from parkpal_lakehouse.config import HUBS, LakehouseConfig
from parkpal_lakehouse.steps.step import Option


def moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time like 2026-11-02T06:00 (UTC unless an offset is given), "
                                         f"not {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-02, not {text!r}") from None


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def hub_list(text: str) -> tuple[str, ...]:
    names = [h.strip() for h in text.split(",") if h.strip()]
    unknown = [n for n in names if n not in HUBS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown hub {', '.join(unknown) or '(none)'}; choose from {', '.join(HUBS)}")
    return tuple(names)


def trigger(text: str) -> str:
    """availableNow, or a processing-time interval (`processingTime=10 seconds` or `10 seconds`)."""
    if text == "availableNow":
        return text
    interval = text.removeprefix("processingTime=").strip("'\"")
    parts = interval.split()
    if len(parts) != 2 or not parts[0].isdigit() or parts[1].rstrip("s") not in ("second", "minute"):
        raise argparse.ArgumentTypeError(f"expected availableNow or processingTime='10 seconds', not {text!r}")
    return f"processingTime={interval}"


def _source(**changes: object):
    def change(config: LakehouseConfig, value: object) -> LakehouseConfig:
        return replace(config, source=replace(config.source, **{k: (value if v is None else v)
                                                                 for k, v in changes.items()}))
    return change


# --- streaming -----------------------------------------------------------------------------------------
SOURCE_OPTIONS: tuple[Option, ...] = (
    Option("source", "where events come from (default: the target's: landing locally, eventhubs on Databricks)",
           choices=("landing", "kafka", "eventhubs"), to_config=_source(kind=None)),
    Option("bootstrap_servers", "Kafka bootstrap servers for --source kafka",
           to_config=_source(bootstrap_servers=None)),
    Option("trigger", "availableNow (drain the input, then stop) or processingTime='10 seconds' (continuous)",
           parse=trigger, default="availableNow",
           to_config=lambda c, v: replace(c, stream=replace(c.stream, trigger=v))),
    Option("max_files_per_trigger", "landing files per micro-batch", parse=positive_int,
           to_config=_source(max_files_per_trigger=None)),
    Option("max_offsets_per_trigger", "Kafka / Event Hubs offsets per micro-batch", parse=positive_int,
           to_config=_source(max_offsets_per_trigger=None)),
    Option("no_quality", "skip the great-expectations checks", switch=True,
           to_config=lambda c, v: replace(c, stream=replace(c.stream, quality_checks=False))),
    Option("state_buckets", "buckets of users sharing the sessions stream's state (a few hundred users each at "
           "peak; fixed for a checkpoint's life; default 256)", parse=positive_int,
           to_config=lambda c, v: replace(c, sessions=replace(c.sessions, state_buckets=v))),
)


# --- forecasting ---------------------------------------------------------------------------------------
SERIES_OPTIONS: tuple[Option, ...] = (
    Option("input", "an hourly occupancy table to use instead of gold.zone_metrics_hourly (CSV file/folder "
           "or Delta path)"),
    Option("history", "older occupancy of the same zones that extends gold backwards (gold wins from each "
           "zone's first gold hour)"),
    Option("format", "of --input / --history", choices=("csv", "delta"), default="csv"),
    Option("timezone", "of naive input times and of the calendar features (default: the deployment's, "
           "Asia/Manila)"),
    *(Option(f"{role}_column", f"input column holding the {role} (default: recognised by name)")
      for role in ("zone", "time", "occupied", "capacity", "rate")),
)

EVALUATION_OPTIONS: tuple[Option, ...] = (
    *SERIES_OPTIONS,
    Option("holiday_country", "ISO country whose public holidays the calendar marks, or `none` (default: the "
           "timezone's country, e.g. Europe/London -> GB)"),
    Option("holdout_from", "score a chosen window instead of the rolling origins: its first origin hour (UTC "
           "unless an offset is given); the model is fitted on the data before it", parse=moment),
    Option("holdout_to", "end of that window (exclusive)", parse=moment),
    Option("horizons", "hours ahead to report, comma-separated (default 1,6,24)"),
)
