"""`parkpal forecast train`: backtest, fit, log and register a challenger.

1. The series (gold, or a given table) becomes feature rows for horizons 1-24.
2. The evaluation: by default the newest `holdout_days` are held out (validation compares champion
   and challenger there) and a rolling-origin backtest covers the `backtest_days` before them; with
   `--holdout-from/--holdout-to` the model is fitted on everything before that window and scored on it.
3. The model is fitted on everything up to the cutoff (the holdout's start), its intervals calibrated
   on out-of-sample backtest residuals, and logged to the environment's experiment with its
   parameters, the backtest table (n per method, same-row comparisons), a forecast-vs-actual plot,
   signature and input example; registered as a new version with the alias `challenger`.
4. Unless forced, nothing is fitted when the newest version (`@challenger`) was trained on exactly this:
   the same feature rows (actuals included), settings, model parameters, calendar, source, evaluation
   window and forecasting code (`training_fingerprint`, logged with each run). A daily job that finds
   no new data then registers no copy of the same model; `--force` trains anyway.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow.exceptions import MlflowException
from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import ForecastSettings, LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.backtest import (
    MODEL,
    Backtest,
    calibration_residuals,
    fit_until,
    history_rows,
    holdout_backtest,
    rolling_origin_backtest,
)
from parkpal_lakehouse.forecasting.baselines import BASELINES
from parkpal_lakehouse.forecasting.features import ForecastCalendar, forecast_rows
from parkpal_lakehouse.forecasting.model import DEFAULT_PARAMS, REQUEST_SIGNATURE, OccupancyForecaster
from parkpal_lakehouse.forecasting.online import feature_store_path
from parkpal_lakehouse.forecasting.registry import CHALLENGER, Registry, open_registry
from parkpal_lakehouse.forecasting.reporting import describe_profile, reporting_profile
from parkpal_lakehouse.runtime.console import library_stderr

CUTOFF_PARAM = "training_cutoff"
FINGERPRINT_PARAM = "training_fingerprint"


@dataclass(frozen=True)
class HistoryWindow:
    first_hour: pd.Timestamp
    last_hour: pd.Timestamp  # newest hour with an actual

    @property
    def days(self) -> float:
        return (self.last_hour - self.first_hour) / timedelta(days=1) + 1 / 24


@dataclass(frozen=True)
class Holdout:
    """A chosen evaluation window: forecasts from origins in [start, stop) (UTC hours)."""

    start: pd.Timestamp
    stop: pd.Timestamp

    @classmethod
    def of(cls, start, stop) -> Holdout | None:
        """From --holdout-from / --holdout-to (both or neither; aware datetimes are converted to UTC)."""
        if start is None and stop is None:
            return None
        if start is None or stop is None:
            raise ParkPalError("--holdout-from and --holdout-to go together (both empty: the default evaluation)")
        a, b = (pd.Timestamp(t).tz_convert("UTC").tz_localize(None) if pd.Timestamp(t).tzinfo else pd.Timestamp(t)
                for t in (start, stop))
        a, b = a.floor("h"), b.floor("h")
        if b <= a:
            raise ParkPalError(f"--holdout-to {b:%Y-%m-%d %H:00} must be after --holdout-from {a:%Y-%m-%d %H:00}")
        return cls(a, b)

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%d %H:00} to {self.stop:%Y-%m-%d %H:00} UTC"


def with_horizons(settings: ForecastSettings, text: str | None) -> ForecastSettings:
    """`settings` reporting the horizons of --horizons ("1,6,24"; empty: unchanged)."""
    if not text:
        return settings
    try:
        horizons = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise ParkPalError(f"--horizons takes hours ahead separated by commas, like 1,6,24, not {text!r}") from None
    if not horizons or any(not 1 <= h <= settings.horizon_hours for h in horizons):
        raise ParkPalError(f"--horizons must be between 1 and {settings.horizon_hours}, not {text!r}")
    return replace(settings, reported_horizons=horizons)


def feature_frame(spark: SparkSession, config: LakehouseConfig, series: DataFrame,
                  calendar: ForecastCalendar) -> pd.DataFrame:
    rows = forecast_rows(spark, series, calendar, config.forecast.horizon_hours).toPandas()
    for col in ("origin_hour", "target_hour"):
        rows[col] = pd.to_datetime(rows[col])
    return rows


def history_window(series: DataFrame) -> HistoryWindow:
    row = series.where("occupancy_rate IS NOT NULL").selectExpr("min(hour_start) a", "max(hour_start) b").first()
    if row["a"] is None:
        raise ParkPalError("the occupancy series has no readings")
    return HistoryWindow(pd.Timestamp(row["a"]), pd.Timestamp(row["b"]))


def require_history(window: HistoryWindow, needed_days: int, what: str, source: str, settings: ForecastSettings
                    ) -> None:
    if window.days + 1e-9 < needed_days:
        raise ParkPalError(
            f"{what} needs at least {needed_days} days of hourly occupancy (8 for the weekly lags, "
            f"{settings.min_training_days} to fit on, {settings.backtest_days} of backtest, {settings.holdout_days} "
            f"held out); {source} has {window.days:.1f} days ({window.first_hour:%Y-%m-%d %H:00} to "
            f"{window.last_hour:%Y-%m-%d %H:00} UTC)")


def check_holdout(holdout: Holdout, window: HistoryWindow, settings: ForecastSettings, source: str) -> None:
    """The window must lie inside the data, after enough history to fit and calibrate on."""
    earliest = window.first_hour + timedelta(days=8 + settings.min_training_days + settings.backtest_days)
    if holdout.start < earliest:
        raise ParkPalError(
            f"--holdout-from {holdout.start:%Y-%m-%d %H:00} leaves too little history before it: the model needs "
            f"{8 + settings.min_training_days + settings.backtest_days} days (8 for the weekly lags, "
            f"{settings.min_training_days} to fit on, {settings.backtest_days} to calibrate its intervals) after "
            f"{source}'s first hour {window.first_hour:%Y-%m-%d %H:00} UTC: start at {earliest:%Y-%m-%d %H:00} "
            "or later")
    if holdout.start > window.last_hour:
        raise ParkPalError(f"--holdout-from {holdout.start:%Y-%m-%d %H:00} is after {source}'s newest reading "
                           f"{window.last_hour:%Y-%m-%d %H:00} UTC")


def evaluate(rows: pd.DataFrame, window: HistoryWindow, settings: ForecastSettings, holdout: Holdout | None,
             end: pd.Timestamp, source: str, progress: Callable[[str], None]) -> Backtest:
    """The fixed-holdout backtest when a window is given, else rolling origin ending at `end`."""
    params = dict(DEFAULT_PARAMS)
    if holdout is not None:
        check_holdout(holdout, window, settings, source)
        return holdout_backtest(rows, holdout.start, holdout.stop, settings.backtest_days, settings.backtest_folds,
                                params, settings.training_origin_step_hours, settings.interval_coverage, progress)
    return rolling_origin_backtest(rows, end, settings.backtest_days, settings.backtest_folds, params,
                                   settings.training_origin_step_hours, settings.interval_coverage, progress)


def backtest_lines(backtest: Backtest, rows: pd.DataFrame, settings: ForecastSettings, source: str,
                   calendar: ForecastCalendar) -> list[str]:
    last_fit = backtest.folds[-1][0]
    return [
        f"{backtest.design} backtest of {source} ({len(backtest.folds)} folds, {len(rows):,} feature rows; "
        f"{calendar.describe()}); every method scored where it is defined, baselines compared with the model on "
        "their own rows:",
        describe_profile(reporting_profile(history_rows(rows, last_fit))),
        backtest.table(settings.reported_horizons),
        backtest.headline(settings.horizon_hours),
    ]


@dataclass(frozen=True)
class TrainingReport:
    run_id: str
    version: str
    cutoff: pd.Timestamp
    backtest: Backtest | None  # None: not retrained, the version was trained on the same fingerprint
    lines_before: list[str]

    @property
    def unchanged(self) -> bool:
        return self.backtest is None

    def lines(self, next_step: bool = True) -> list[str]:
        if self.unchanged:
            return [*self.lines_before,
                    f"not retrained: version {self.version} (@{CHALLENGER}, run {self.run_id}) was trained on these "
                    f"same feature rows, settings and code (data up to {self.cutoff:%Y-%m-%d %H:00} UTC); no new "
                    "version registered (--force trains anyway)"]
        return [*self.lines_before,
                f"registered version {self.version} as @{CHALLENGER} (run {self.run_id}; trained on data up to "
                f"{self.cutoff:%Y-%m-%d %H:00} UTC)" + ("; next: parkpal forecast validate" if next_step else "")]


def training_fingerprint(rows: pd.DataFrame, settings: ForecastSettings, params: dict, source: str,
                         calendar: ForecastCalendar, holdout: Holdout | None) -> str:
    """What a fit depends on, as one digest: the feature rows as a multiset (Spark does not promise their
    order), the settings, the model's parameters, calendar, source, evaluation window and the forecasting
    package's code (a changed model retrains without --force)."""
    digest = hashlib.sha256()
    code = sorted(Path(__file__).parent.glob("*.py"))
    for part in (repr(settings), repr(sorted(params.items())), source, calendar.describe(),
                 holdout.describe() if holdout else "", *(p.read_text() for p in code)):
        digest.update(part.encode() + b"\0")
    row_hashes = np.sort(pd.util.hash_pandas_object(rows[sorted(rows.columns)], index=False).to_numpy())
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()[:32]


def _trained_on(registry: Registry, run_id: str) -> str | None:
    """The fingerprint a version's run logged (None: before fingerprints, or its run is gone)."""
    try:
        return registry.client.get_run(run_id).data.params.get(FINGERPRINT_PARAM)
    except MlflowException:
        return None


def train_forecaster(spark: SparkSession, config: LakehouseConfig, series: DataFrame, source: str,
                     calendar: ForecastCalendar, progress: Callable[[str], None] = lambda _m: None,
                     holdout: Holdout | None = None, force: bool = False) -> TrainingReport:
    settings = config.forecast
    window = history_window(series)
    if holdout is None:
        require_history(window, settings.required_days, "forecast train", source, settings)
    rows = feature_frame(spark, config, series, calendar)
    cutoff = holdout.start if holdout else window.last_hour - timedelta(days=settings.holdout_days)
    params = dict(DEFAULT_PARAMS)
    fingerprint = training_fingerprint(rows, settings, params, source, calendar, holdout)
    registry = open_registry(config)
    newest = registry.version(CHALLENGER)
    if not force and newest is not None and _trained_on(registry, newest.run_id) == fingerprint:
        return TrainingReport(newest.run_id, str(newest.version), cutoff, None, [
            f"{len(rows):,} feature rows from {source}, unchanged since version {newest.version} was trained"])
    progress(f"{len(rows):,} feature rows from {source}; model fitted on data up to {cutoff:%Y-%m-%d %H:00} UTC")
    backtest = evaluate(rows, window, settings, holdout, cutoff, source, progress)
    model = fit_until(rows, cutoff, settings.training_origin_step_hours, params, settings.interval_coverage)
    model.calibrate(calibration_residuals(backtest))
    progress(f"fitted the model on data up to {cutoff:%Y-%m-%d %H:00} UTC; logging to MLflow")
    with mlflow.start_run(experiment_id=registry.experiment_id, run_name=f"train {cutoff:%Y-%m-%d %H:00}") as run:
        mlflow.log_params({**{f"model_{k}": v for k, v in params.items()}, CUTOFF_PARAM: cutoff.isoformat(),
                           "source": source[:500], "history_first_hour": window.first_hour.isoformat(),
                           "history_last_hour": window.last_hour.isoformat(),
                           "horizon_hours": settings.horizon_hours, "backtest_days": settings.backtest_days,
                           "backtest_folds": settings.backtest_folds, "holdout_days": settings.holdout_days,
                           "backtest_design": backtest.design,
                           "holdout_window": holdout.describe() if holdout else "",
                           "interval_coverage": settings.interval_coverage, "timezone": calendar.timezone,
                           "holiday_country": calendar.holiday_country or "none",
                           "gate_horizon": settings.horizon_hours, FINGERPRINT_PARAM: fingerprint})
        mlflow.log_metrics(summary_metrics(backtest, settings.reported_horizons, settings.horizon_hours))
        mlflow.log_table(backtest.metrics, artifact_file="backtest_metrics.json")
        lines = backtest_lines(backtest, rows, settings, source, calendar)
        mlflow.log_text("\n".join(lines), "backtest_table.txt")
        evaluated = backtest.predictions[backtest.predictions.evaluated]
        mlflow.log_figure(forecast_vs_actual_figure(evaluated), "forecast_vs_actual.png")
        # Served with simple requests (zone, hours ahead, as-of): the signature says so; the features come
        # from the scoring job's online store, which locally is a file under the root (`online.py`).
        model_config = {"feature_store": str(feature_store_path(config))} if config.is_local else None
        with library_stderr():  # MLflow prints "Successfully registered model ..." itself
            info = mlflow.pyfunc.log_model(
                name="occupancy_forecaster", python_model=OccupancyForecaster(model),
                signature=REQUEST_SIGNATURE, model_config=model_config,
                registered_model_name=registry.model_name,
                pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
                                  f"numpy=={np.__version__}", f"mlflow=={mlflow.__version__}"],
            )
    version = str(info.registered_model_version)
    registry.set_alias(CHALLENGER, version)
    registry.client.set_model_version_tag(registry.model_name, version, "validation_status", "pending")
    return TrainingReport(run.info.run_id, version, cutoff, backtest, lines)


def summary_metrics(backtest: Backtest, horizons: tuple[int, ...], gate_horizon: int) -> dict[str, float]:
    """Per horizon: n, MAE and RMSE of every method; per baseline the model's MAE on its rows and the
    improvement; the hardest baseline's improvement; interval coverage. Figures that do not exist (a
    method undefined on every row) are left out rather than logged as NaN."""
    out: dict[str, float] = {}
    for h in sorted({*horizons, gate_horizon}):
        for method in (MODEL, *BASELINES):
            row = backtest.row(method, h)
            if row is None:
                continue
            out[f"n_h{h}_{method}"] = float(row.n)
            if row.n:
                out[f"mae_h{h}_{method}"], out[f"rmse_h{h}_{method}"] = float(row.mae), float(row.rmse)
        for c in backtest.comparisons(h):
            out[f"model_mae_h{h}_vs_{c.baseline}"] = c.model_mae
            out[f"improvement_h{h}_{c.baseline}"] = c.improvement
        best = backtest.best_baseline(h)
        if best is not None:
            out[f"improvement_h{h}"] = best.improvement
        coverage, n = backtest.coverage(h)
        if n:
            out[f"interval_coverage_h{h}"] = coverage
    coverage, n = backtest.coverage()
    if n:
        out["interval_coverage"] = coverage
    return out


def forecast_vs_actual_figure(predictions: pd.DataFrame):
    """Actual occupancy vs the 1 h and 24 h ahead forecasts over the last fold, one zone per type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = predictions[predictions.fold == predictions.fold.max()]
    zones = last.groupby("zone_type").zone_id.first()
    fig, axes = plt.subplots(len(zones), 1, figsize=(11, 2.8 * len(zones)), squeeze=False, sharex=True)
    for ax, (zone_type, zone) in zip(axes[:, 0], zones.items(), strict=True):
        z = last[last.zone_id == zone]
        actual = z[z.horizon == 1].set_index("target_hour").actual_rate.sort_index()
        ax.plot(actual.index, actual.to_numpy(), color="black", label="actual")
        for h, colour in ((1, "tab:blue"), (24, "tab:orange")):
            pred = z[z.horizon == h].set_index("target_hour")[MODEL].sort_index()
            ax.plot(pred.index, pred.to_numpy(), color=colour, label=f"{h} h ahead")
        ax.set_title(f"zone {zone} ({zone_type})")
        ax.set_ylabel("occupancy rate")
        ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def run_backtest(spark: SparkSession, config: LakehouseConfig, series: DataFrame, source: str,
                 calendar: ForecastCalendar, progress: Callable[[str], None] = lambda _m: None,
                 holdout: Holdout | None = None) -> list[str]:
    """`parkpal forecast backtest`: the backtest alone, on any series. Rolling origin ends where the
    newest origin still has all its horizons' actuals; a holdout window is scored as given. Nothing
    is registered."""
    settings = config.forecast
    window = history_window(series)
    if holdout is None:
        needed = 8 + settings.min_training_days + settings.backtest_days + 1
        require_history(window, needed, "forecast backtest", source, replace(settings, holdout_days=1))
    rows = feature_frame(spark, config, series, calendar)
    progress(f"{len(rows):,} feature rows from {source}")
    end = window.last_hour - timedelta(hours=settings.horizon_hours - 1)
    backtest = evaluate(rows, window, settings, holdout, end, source, progress)
    return backtest_lines(backtest, rows, settings, source, calendar)
