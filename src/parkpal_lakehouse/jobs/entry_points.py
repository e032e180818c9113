"""The job tasks as `[project.scripts]` entry points (`parkpal-*`), in pipeline order.

Each parses its parameters, builds the config and calls the library: the same calls the `parkpal`
CLI makes. `jobs/resources/*.yml` names them in `python_wheel_task.entry_point`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from parkpal_lakehouse.config import LAYERS
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.jobs.steps import (
    Step,
    StepContext,
    add_option,
    entry_point,
    optional_date,
    optional_datetime,
    optional_text,
    whole_number,
)


# --- setup --------------------------------------------------------------------------------------------
def _setup_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "reference_folder", type=optional_text, default=None,
               help="folder with zones.csv and vehicles.csv (default: <storage root> landing/reference)")


def _reference_folder(ctx: StepContext, folder: str) -> Path:
    """A local folder with the two CSVs; lake URIs are copied through Spark (small files)."""
    if "://" not in folder:
        return Path(folder)
    local = Path(tempfile.mkdtemp(prefix="parkpal-reference-"))
    for name in ("zones.csv", "vehicles.csv"):
        text = ctx.spark.read.option("wholetext", True).text(f"{folder.rstrip('/')}/{name}").first()
        if text is None:
            raise ParkPalError(f"{folder}/{name} is empty or missing: `parkpal lake upload-reference` puts it there")
        (local / name).write_text(text[0])
    return local


def _setup(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.contracts.reference import load_reference_tables

    config, spark = ctx.config, ctx.spark
    if not config.is_local:  # locally get_spark has created the layer databases
        for layer in LAYERS:
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {config.catalog}.{config.schema(layer)}")
    folder = _reference_folder(ctx, args.reference_folder or config.reference_path())
    if not (folder / "zones.csv").is_file():
        raise ParkPalError(f"no zones.csv in {folder}: simulate a city (`parkpal simulate`) or upload the "
                           "operators' (`parkpal lake upload-reference`), or pass --reference_folder")
    names = load_reference_tables(spark, config, folder)
    print(f"schemas {', '.join(config.schema(layer) for layer in LAYERS)} ready; "
          f"reference data from {args.reference_folder or config.reference_path()} in {', '.join(names)}")
    return 0


# --- streaming ------------------------------------------------------------------------------------------
def _ingest_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "source", type=optional_text, default=None, choices=(None, "landing", "kafka", "eventhubs"),
               help="landing | kafka | eventhubs (default: the target's)")
    add_option(p, "bootstrap_servers", default="", help="Kafka bootstrap servers for --source kafka")
    add_option(p, "trigger", default="availableNow",
               help="availableNow (drain the input, then stop) or processingTime=30 seconds (continuous)")


def _ingest(args: argparse.Namespace, ctx: StepContext) -> int:
    from dataclasses import replace

    from parkpal_lakehouse.config import StreamSettings
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.ingestion import run_ingestion, stop_on_signals
    from parkpal_lakehouse.io.sources import check_reachable

    source = ctx.config.source
    ctx.configure(source=replace(source, kind=args.source or source.kind,
                                 bootstrap_servers=args.bootstrap_servers or source.bootstrap_servers),
                  stream=StreamSettings(trigger=args.trigger))
    check_reachable(ctx.config.source)
    report = run_ingestion(ctx.spark, ctx.config, list(Hub), stop=stop_on_signals(ctx.progress),
                           progress=ctx.progress, sessions=True, dbutils=ctx.dbutils)
    print(f"ingestion {'stopped on signal' if report.stopped_by_signal else 'done'}: {report.batches} micro-batches; "
          "rows in: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.rows_in.items())))
    return 0


# --- hourly ------------------------------------------------------------------------------------------------
def _hourly_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "from", type=optional_datetime, default=None,
               help="first hour to recompute, UTC (empty: every closed hour not computed yet)")
    add_option(p, "to", type=optional_datetime, default=None, help="exclusive end of that range")


def _gold_hourly(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.hourly import run_hourly
    from parkpal_lakehouse.gold.hours import hours_between

    start, end = getattr(args, "from"), args.to
    if (start is None) != (end is None):
        raise ParkPalError("--from and --to go together (both empty: the pending hours)")
    hours = hours_between(start, end) if start else None
    report = run_hourly(ctx.spark, ctx.config, hours, progress=ctx.progress, dbutils=ctx.dbutils)
    print("\n".join(report.lines()))
    return 0


def _quality_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "max_lag_hours", type=whole_number, default=3,
               help="hours gold may trail silver's closed hours before the check fails")


def _gold_quality(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.audit import audit_gold

    report = audit_gold(ctx.spark, ctx.config, args.max_lag_hours)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0


# --- forecasting ---------------------------------------------------------------------------------------
def _series_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "history", type=optional_text, default=None,
               help="older hourly occupancy of the same zones that extends gold backwards")
    add_option(p, "input", type=optional_text, default=None, help="an occupancy table to use instead of gold")
    add_option(p, "format", choices=("csv", "delta"), default="csv", help="of --input / --history")
    add_option(p, "timezone", type=optional_text, default=None, help="of naive input times (default Asia/Manila)")


def _evaluation_options(p: argparse.ArgumentParser) -> None:
    """Training and validation: the series, its calendar's holidays (scoring uses the champion's),
    and the evaluation window."""
    _series_options(p)
    add_option(p, "holiday_country", type=optional_text, default=None,
               help="ISO country of the calendar's public holidays, or none (default: the timezone's country)")
    add_option(p, "holdout_from", type=optional_datetime, default=None,
               help="first origin hour of a chosen evaluation window, UTC (empty: rolling origin)")
    add_option(p, "holdout_to", type=optional_datetime, default=None, help="exclusive end of that window")
    add_option(p, "horizons", type=optional_text, default=None, help="hours ahead to report, e.g. 1,6,24")


def _series(args: argparse.Namespace, ctx: StepContext):
    from parkpal_lakehouse.forecasting.inputs import SeriesSource, load_series

    if args.input and args.history:
        raise ParkPalError("give --input (instead of gold) or --history (before gold), not both")
    source = SeriesSource(input_path=args.input, input_format=args.format, history_path=args.history,
                          history_format=args.format, timezone=args.timezone,
                          holiday_country=getattr(args, "holiday_country", None))
    series, cleaning = load_series(ctx.spark, ctx.config, source)
    print("\n".join(cleaning))
    return source, series, source.calendar(ctx.config)


def _evaluation(args: argparse.Namespace, ctx: StepContext):
    """The --horizons and --holdout-* options: reported horizons into the config, the window returned."""
    from parkpal_lakehouse.forecasting.training import Holdout, with_horizons

    ctx.configure(forecast=with_horizons(ctx.config.forecast, args.horizons))
    return Holdout.of(args.holdout_from, args.holdout_to)


def _train(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.training import train_forecaster

    holdout = _evaluation(args, ctx)
    source, series, calendar = _series(args, ctx)
    report = train_forecaster(ctx.spark, ctx.config, series, source.describe(), calendar, ctx.progress, holdout)
    print("\n".join(report.lines(next_step=False)))
    return 0


def _validate(args: argparse.Namespace, ctx: StepContext) -> int:
    """A refused challenger is a verdict, not a failure: the task succeeds (exit 0) having changed
    nothing, as `parkpal forecast validate` does; the version's tags and the output say why."""
    from parkpal_lakehouse.forecasting.registry import open_registry
    from parkpal_lakehouse.forecasting.validation import validate_challenger

    holdout = _evaluation(args, ctx)
    _, series, calendar = _series(args, ctx)
    decision = validate_challenger(ctx.spark, ctx.config, open_registry(ctx.config), series, calendar, holdout)
    print("\n".join(decision.lines()))
    return 0


def _score_options(p: argparse.ArgumentParser) -> None:
    _series_options(p)
    add_option(p, "as_of", type=optional_datetime, default=None,
               help="last observed hour to forecast from (empty: the newest)")


def _score(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.batch_inference import score_forecasts
    from parkpal_lakehouse.forecasting.registry import CHAMPION, open_registry

    registry = open_registry(ctx.config)
    if registry.version(CHAMPION) is None:
        # A new deployment: the hourly job runs before the first daily training has promoted a model.
        print(f"no @{CHAMPION} for {registry.model_name} yet: nothing scored (the daily training job promotes one)")
        return 0
    _, series, _ = _series(args, ctx)
    print("\n".join(score_forecasts(ctx.spark, ctx.config, series, args.as_of).lines()))
    return 0


def _monitor_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "date", type=optional_date, default=None, help="local day (empty: the newest complete day)")


def _monitor(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.monitoring import newest_complete_day, run_monitoring

    day = args.date
    if day is None:
        try:
            day = newest_complete_day(ctx.spark, ctx.config)
        except ParkPalError as exc:  # a new deployment: no full day of gold yet
            print(f"nothing to monitor yet: {exc}")
            return 0
    print("\n".join(run_monitoring(ctx.spark, ctx.config, day).lines()))
    return 0


# --- maintenance ------------------------------------------------------------------------------------
def _maintain_options(p: argparse.ArgumentParser) -> None:
    add_option(p, "retention_hours", type=whole_number, default=168,
               help="history VACUUM keeps (at least 168 = 7 days of time travel)")


def _maintain(args: argparse.Namespace, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.maintenance import maintain_lakehouse

    print("\n".join(maintain_lakehouse(ctx.spark, ctx.config, args.retention_hours).lines()))
    return 0


STEPS: dict[str, Step] = {s.script: s for s in (
    Step("parkpal-setup", "create the layer schemas and load the reference data", _setup_options, _setup),
    Step("parkpal-ingest", "streaming: events -> bronze -> silver (+ quarantine) -> parking sessions",
         _ingest_options, _ingest),
    Step("parkpal-gold-hourly", "gold tables for the closed hours not computed yet (or a range)",
         _hourly_options, _gold_hourly),
    Step("parkpal-gold-quality", "gold quality checks after the hourly write", _quality_options, _gold_quality),
    Step("parkpal-forecast-score", "the next 24 hours of occupancy per zone with the @champion model",
         _score_options, _score),
    Step("parkpal-forecast-train", "backtest, fit and register a challenger", _evaluation_options, _train),
    Step("parkpal-forecast-validate", "promote the challenger if it beats the baselines and the champion "
         "(a refusal changes nothing and exits 0)", _evaluation_options, _validate),
    Step("parkpal-forecast-monitor", "a day's forecasts against actuals into gold.forecast_accuracy_daily",
         _monitor_options, _monitor),
    Step("parkpal-maintain", "OPTIMIZE the gold tables and VACUUM every layer", _maintain_options, _maintain),
)}

setup_lakehouse = entry_point(STEPS["parkpal-setup"])
ingest_streams = entry_point(STEPS["parkpal-ingest"])
gold_hourly = entry_point(STEPS["parkpal-gold-hourly"])
gold_quality = entry_point(STEPS["parkpal-gold-quality"])
forecast_score = entry_point(STEPS["parkpal-forecast-score"])
forecast_train = entry_point(STEPS["parkpal-forecast-train"])
forecast_validate = entry_point(STEPS["parkpal-forecast-validate"])
forecast_monitor = entry_point(STEPS["parkpal-forecast-monitor"])
maintain_tables = entry_point(STEPS["parkpal-maintain"])
