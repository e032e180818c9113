"""Steps of occupancy forecasting with MLflow: backtest, train, validate, score, monitor."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps.options import EVALUATION_OPTIONS, SERIES_OPTIONS, day, moment
from parkpal_lakehouse.steps.step import Option, Step, StepContext, Values


def _series(args: Values, ctx: StepContext):
    """(source, series, calendar) from the series options; prints what cleaning did."""
    from parkpal_lakehouse.forecasting.series_source import SeriesSource, load_series

    if ctx.config.is_local:
        for flag, path in (("--input", args.input), ("--history", args.history)):
            if path and "://" not in path and not Path(path).exists():
                raise ParkPalError(f"{flag} {path}: no such file or folder")
    columns = {"zone_id": args.zone_column, "time": args.time_column, "occupied": args.occupied_column,
               "capacity": args.capacity_column, "rate": args.rate_column}
    source = SeriesSource(input_path=args.input, input_format=args.format, history_path=args.history,
                          history_format=args.format, timezone=args.timezone, columns=columns,
                          holiday_country=getattr(args, "holiday_country", None))
    series, cleaning = load_series(ctx.spark, ctx.config, source)
    print("\n".join(cleaning))
    return source, series, source.calendar(ctx.config)


def _holdout(args: Values):
    from parkpal_lakehouse.forecasting.training import Holdout

    return Holdout.of(args.holdout_from, args.holdout_to)


def check_series(args: Values) -> None:
    """Both --input and --history fail before Spark starts."""
    if args.input and args.history:
        raise ParkPalError("give --input (instead of gold) or --history (before gold), not both")


def check_evaluation(args: Values) -> None:
    """... and so does a half-given or reversed evaluation window."""
    check_series(args)
    _holdout(args)


def _horizons(config, text: str):
    from parkpal_lakehouse.forecasting.training import with_horizons

    return replace(config, forecast=with_horizons(config.forecast, text))


def train(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.training import train_forecaster

    holdout = _holdout(args)
    source, series, calendar = _series(args, ctx)
    report = train_forecaster(ctx.spark, ctx.config, series, source.describe(), calendar, ctx.progress, holdout,
                              force=bool(args.force))
    print("\n".join(report.lines(next_step=ctx.door == "cli")))
    return 0


def validate(args: Values, ctx: StepContext) -> int:
    """A refused challenger is a verdict, not a failure: exit 0 having changed nothing, in every door;
    the version's tags and the output say why."""
    from parkpal_lakehouse.forecasting.registry import open_registry
    from parkpal_lakehouse.forecasting.validation import validate_challenger

    holdout = _holdout(args)
    _, series, calendar = _series(args, ctx)
    decision = validate_challenger(ctx.spark, ctx.config, open_registry(ctx.config), series, calendar, holdout)
    print("\n".join(decision.lines()))
    return 0


def backtest(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.training import run_backtest

    holdout = _holdout(args)
    source, series, calendar = _series(args, ctx)
    print("\n".join(run_backtest(ctx.spark, ctx.config, series, source.describe(), calendar, ctx.progress, holdout)))
    return 0


def score(args: Values, ctx: StepContext) -> int:
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


def monitor(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.forecasting.monitoring import newest_complete_day, run_monitoring

    date = args.date
    if date is None:
        try:
            date = newest_complete_day(ctx.spark, ctx.config)
        except ParkPalError as exc:  # a new deployment: no full day of gold yet
            print(f"nothing to monitor yet: {exc}")
            return 0
    print("\n".join(run_monitoring(ctx.spark, ctx.config, date).lines()))
    return 0


EVALUATION = (*EVALUATION_OPTIONS[:-1], replace(EVALUATION_OPTIONS[-1], to_config=_horizons))

STEPS = (
    Step(("forecast", "train"), "parkpal-forecast-train", "forecast_train",
         "backtest, fit and register a new version as @challenger (not when the newest version was trained on "
         "the same data, settings and code: --force)", train,
         (*EVALUATION, Option("force", "train and register even when @challenger was trained on the same feature "
                              "rows, settings and code", switch=True)), check=check_evaluation),
    Step(("forecast", "validate"), "parkpal-forecast-validate", "forecast_validate",
         "promote @challenger to @champion if it beats the baselines and the champion (a refusal changes "
         "nothing and exits 0)", validate, EVALUATION, check=check_evaluation),
    Step(("forecast", "score"), "parkpal-forecast-score", "forecast_score",
         "forecast the next 24 hours of every zone with @champion into gold.zone_occupancy_forecast", score,
         (*SERIES_OPTIONS,  # no --holiday-country: scoring uses the calendar the champion was trained with
          Option("as_of", "the last observed hour to forecast from (default: the newest)", parse=moment)),
         check=check_series),
    Step(("forecast", "backtest"), "parkpal-forecast-backtest", "forecast_backtest",
         "rolling-origin backtest of the model and the baselines on any hourly occupancy table", backtest,
         EVALUATION, check=check_evaluation),
    Step(("forecast", "monitor"), "parkpal-forecast-monitor", "forecast_monitor",
         "score a day's forecasts against actuals into gold.forecast_accuracy_daily", monitor,
         (Option("date", "local day (default: the newest complete day)", parse=day),)),
)
