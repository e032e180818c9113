"""`parkpal forecast train`: backtest, fit, log and register a challenger.

1. The series (gold, or a given table) becomes feature rows for horizons 1-24.
2. The newest `holdout_days` are held out (validation compares champion and challenger there).
3. Rolling-origin backtest over the `backtest_days` before the holdout: model and baselines.
4. The model is fitted on everything up to the holdout, its intervals calibrated on the backtest's
   out-of-sample residuals, and logged to the environment's experiment with its parameters, the
   backtest table, a forecast-vs-actual plot, signature and input example; registered as a new
   version with the alias `challenger`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow.models import infer_signature
from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import ForecastSettings, LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.backtest import (
    MODEL,
    REPORTED_HORIZONS,
    Backtest,
    fit_until,
    rolling_origin_backtest,
)
from parkpal_lakehouse.forecasting.baselines import BASELINES
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, forecast_rows
from parkpal_lakehouse.forecasting.model import DEFAULT_PARAMS, OccupancyForecaster
from parkpal_lakehouse.forecasting.registry import CHALLENGER, open_registry

CUTOFF_PARAM = "training_cutoff"


@dataclass(frozen=True)
class HistoryWindow:
    first_hour: pd.Timestamp
    last_hour: pd.Timestamp  # newest hour with an actual

    @property
    def days(self) -> float:
        return (self.last_hour - self.first_hour) / timedelta(days=1) + 1 / 24


def feature_frame(spark: SparkSession, config: LakehouseConfig, series: DataFrame, timezone: str) -> pd.DataFrame:
    rows = forecast_rows(spark, series, timezone, config.forecast.horizon_hours).toPandas()
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


@dataclass(frozen=True)
class TrainingReport:
    run_id: str
    version: str
    cutoff: pd.Timestamp
    backtest: Backtest
    rows: int

    def lines(self, next_step: bool = True) -> list[str]:
        best, best_mae = self.backtest.best_baseline(24)
        model_mae = self.backtest.mae(MODEL, 24)
        return [
            f"rolling-origin backtest ({len(self.backtest.folds)} folds, {self.rows:,} feature rows), "
            "occupancy rate error in percentage points:",
            self.backtest.table(),
            f"24h ahead: model MAE {100 * model_mae:.2f} pp vs best baseline ({best}) {100 * best_mae:.2f} pp: "
            f"{improvement(model_mae, best_mae):+.1%} better",
            f"registered version {self.version} as @{CHALLENGER} (run {self.run_id}; trained on data up to "
            f"{self.cutoff:%Y-%m-%d %H:00} UTC)" + ("; next: parkpal forecast validate" if next_step else ""),
        ]


def improvement(model_mae: float, baseline_mae: float) -> float:
    return 1 - model_mae / baseline_mae if baseline_mae > 0 else 0.0


def train_forecaster(spark: SparkSession, config: LakehouseConfig, series: DataFrame, source: str,
                     timezone: str, progress: Callable[[str], None] = lambda _m: None) -> TrainingReport:
    settings = config.forecast
    window = history_window(series)
    require_history(window, settings.required_days, "forecast train", source, settings)
    rows = feature_frame(spark, config, series, timezone)
    cutoff = window.last_hour - timedelta(days=settings.holdout_days)
    progress(f"{len(rows):,} feature rows from {source}; backtest before {cutoff:%Y-%m-%d %H:00} UTC")
    params = dict(DEFAULT_PARAMS)
    backtest = rolling_origin_backtest(rows, cutoff, settings.backtest_days, settings.backtest_folds, params,
                                       settings.training_origin_step_hours, settings.interval_coverage, progress)
    model = fit_until(rows, cutoff, settings.training_origin_step_hours, params, settings.interval_coverage)
    bt = backtest.predictions
    model.calibrate(bt.horizon, bt.actual_rate - bt[MODEL])
    progress(f"fitted the model on data up to {cutoff:%Y-%m-%d %H:00} UTC; logging to MLflow")
    registry = open_registry(config)
    with mlflow.start_run(experiment_id=registry.experiment_id, run_name=f"train {cutoff:%Y-%m-%d %H:00}") as run:
        mlflow.log_params({**{f"model_{k}": v for k, v in params.items()}, CUTOFF_PARAM: cutoff.isoformat(),
                           "source": source[:500], "history_first_hour": window.first_hour.isoformat(),
                           "history_last_hour": window.last_hour.isoformat(),
                           "horizon_hours": settings.horizon_hours, "backtest_days": settings.backtest_days,
                           "backtest_folds": settings.backtest_folds, "holdout_days": settings.holdout_days,
                           "interval_coverage": settings.interval_coverage, "timezone": timezone})
        mlflow.log_metrics(summary_metrics(backtest))
        mlflow.log_table(backtest.metrics, artifact_file="backtest_metrics.json")
        mlflow.log_text(backtest.table(), "backtest_table.txt")
        mlflow.log_figure(forecast_vs_actual_figure(bt), "forecast_vs_actual.png")
        example = rows.loc[rows.actual_rate.notna(), list(FEATURE_COLUMNS)].head(5).reset_index(drop=True)
        info = mlflow.pyfunc.log_model(
            name="occupancy_forecaster", python_model=OccupancyForecaster(model),
            signature=infer_signature(example, model.predict_frame(example)), input_example=example,
            registered_model_name=registry.model_name,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}",
                              f"numpy=={np.__version__}", f"mlflow=={mlflow.__version__}"],
        )
    version = str(info.registered_model_version)
    registry.set_alias(CHALLENGER, version)
    registry.client.set_model_version_tag(registry.model_name, version, "validation_status", "pending")
    return TrainingReport(run.info.run_id, version, cutoff, backtest, len(rows))


def summary_metrics(backtest: Backtest) -> dict[str, float]:
    out: dict[str, float] = {}
    for h in REPORTED_HORIZONS:
        for method in (MODEL, *BASELINES):
            out[f"mae_h{h}_{method}"] = backtest.mae(method, h)
            rmse = backtest.metrics
            row = rmse[(rmse.method == method) & (rmse.horizon == h) & (rmse.zone_type == "ALL")]
            out[f"rmse_h{h}_{method}"] = float(row.rmse.iloc[0]) if len(row) else float("nan")
        best, best_mae = backtest.best_baseline(h)
        out[f"mae_h{h}_best_baseline"] = best_mae
        out[f"improvement_h{h}"] = improvement(backtest.mae(MODEL, h), best_mae)
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


def run_backtest(spark: SparkSession, config: LakehouseConfig, series: DataFrame, source: str, timezone: str,
                 progress: Callable[[str], None] = lambda _m: None) -> list[str]:
    """`parkpal forecast backtest`: the rolling-origin backtest alone, on any series, ending where the
    newest origin still has all its horizons' actuals. Nothing is registered."""
    settings = config.forecast
    window = history_window(series)
    needed = 8 + settings.min_training_days + settings.backtest_days + 1
    require_history(window, needed, "forecast backtest", source, replace(settings, holdout_days=1))
    rows = feature_frame(spark, config, series, timezone)
    end = window.last_hour - timedelta(hours=settings.horizon_hours - 1)
    progress(f"{len(rows):,} feature rows from {source}")
    backtest = rolling_origin_backtest(rows, end, settings.backtest_days, settings.backtest_folds, dict(DEFAULT_PARAMS),
                                       settings.training_origin_step_hours, settings.interval_coverage, progress)
    best, best_mae = backtest.best_baseline(24)
    model_mae = backtest.mae(MODEL, 24)
    return [f"rolling-origin backtest of {source}: {len(backtest.folds)} folds, origins "
            f"{backtest.folds[0][0]:%Y-%m-%d %H:00} to {backtest.folds[-1][1]:%Y-%m-%d %H:00} UTC; "
            "occupancy rate error in percentage points:",
            backtest.table(),
            f"24h ahead: model MAE {100 * model_mae:.2f} pp vs best baseline ({best}) {100 * best_mae:.2f} pp: "
            f"{improvement(model_mae, best_mae):+.1%} better"]
