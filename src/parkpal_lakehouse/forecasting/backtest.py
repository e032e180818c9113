"""Rolling-origin backtest: the model and every baseline on the same out-of-sample forecasts.

The backtest window holds the origins [end - days, end), cut into `folds` consecutive folds. Each
fold is fitted on the rows whose target hour is at or before the fold's first origin (what was known
then), then forecasts every horizon from every origin in the fold. Metrics: MAE and RMSE of the
occupancy rate per horizon and per zone type, for the model and each baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from parkpal_lakehouse.forecasting.baselines import (
    BASELINES,
    baseline_predictions,
    observed_hours,
    weekday_hour_means,
)
from parkpal_lakehouse.forecasting.model import OccupancyModel

MODEL = "model"
REPORTED_HORIZONS = (1, 6, 24)
ALL = "ALL"


@dataclass(frozen=True)
class Backtest:
    predictions: pd.DataFrame  # zone_id, zone_type, origin_hour, target_hour, horizon, actual_rate, model, baselines
    metrics: pd.DataFrame  # method, zone_type, horizon, n, mae, rmse
    folds: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]

    def mae(self, method: str, horizon: int, zone_type: str = ALL) -> float:
        m = self.metrics
        row = m[(m.method == method) & (m.horizon == horizon) & (m.zone_type == zone_type)]
        return float(row.mae.iloc[0]) if len(row) else float("nan")

    def best_baseline(self, horizon: int) -> tuple[str, float]:
        scores = {b: self.mae(b, horizon) for b in BASELINES}
        name = min(scores, key=lambda b: scores[b])
        return name, scores[name]

    def table(self, horizons: tuple[int, ...] = REPORTED_HORIZONS) -> str:
        """MAE / RMSE per horizon and zone type, one column per method (rates in percentage points)."""
        methods = [MODEL, *BASELINES]
        head = f"{'horizon':>7} {'zone type':<9} {'n':>8}  " + "  ".join(f"{m:>22}" for m in methods)
        lines = [head, " " * 28 + "  ".join(f"{'MAE / RMSE (pp)':>22}" for _ in methods)]
        m = self.metrics
        for h in horizons:
            for zt in [ALL, *sorted(set(m.zone_type) - {ALL})]:
                rows = m[(m.horizon == h) & (m.zone_type == zt)].set_index("method")
                if rows.empty:
                    continue
                cells = [f"{100 * rows.mae[x]:>10.2f} / {100 * rows.rmse[x]:>9.2f}" for x in methods]
                lines.append(f"{h:>6}h {zt:<9} {int(rows.n.iloc[0]):>8,}  " + "  ".join(cells))
        return "\n".join(lines)


def fold_bounds(end: pd.Timestamp, days: int, folds: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, stop) origin ranges of `folds` equal folds covering the `days` before `end`."""
    start = end - timedelta(days=days)
    step = (end - start) / folds
    edges = [start + i * step for i in range(folds)] + [end]
    return [(edges[i].floor("h"), edges[i + 1].floor("h")) for i in range(folds)]


def training_rows(rows: pd.DataFrame, cutoff: pd.Timestamp, origin_step_hours: int) -> pd.DataFrame:
    """Rows known at `cutoff` (target at or before it), every `origin_step_hours`-th origin."""
    known = rows[(rows.target_hour <= cutoff) & rows.actual_rate.notna()]
    epoch_hours = (known.origin_hour - pd.Timestamp("1970-01-01")) // pd.Timedelta(hours=1)
    return known[epoch_hours % origin_step_hours == 0]


def fit_until(rows: pd.DataFrame, cutoff: pd.Timestamp, origin_step_hours: int, params: dict,
              coverage: float) -> OccupancyModel:
    """A model fitted on what was known at `cutoff`."""
    history = observed_hours(rows[rows.target_hour <= cutoff])
    return OccupancyModel(params=dict(params), coverage=coverage).fit(
        training_rows(rows, cutoff, origin_step_hours), history)


def rolling_origin_backtest(rows: pd.DataFrame, end: pd.Timestamp, days: int, folds: int, params: dict,
                            origin_step_hours: int, coverage: float,
                            progress: Callable[[str], None] = lambda _m: None) -> Backtest:
    bounds = fold_bounds(end, days, folds)
    parts = []
    for i, (start, stop) in enumerate(bounds, 1):
        model = fit_until(rows, start, origin_step_hours, params, coverage)
        scored = rows[(rows.origin_hour >= start) & (rows.origin_hour < stop) & rows.actual_rate.notna()]
        if scored.empty:
            continue
        means = weekday_hour_means(observed_hours(rows[rows.target_hour <= start]))
        preds = baseline_predictions(scored, means)
        preds[MODEL] = model.point(scored)
        parts.append(pd.concat([scored[["zone_id", "zone_type", "origin_hour", "target_hour", "horizon",
                                        "actual_rate"]], preds], axis=1).assign(fold=i))
        progress(f"backtest fold {i}/{len(bounds)}: origins {start:%Y-%m-%d %H:00} - {stop:%Y-%m-%d %H:00} UTC, "
                 f"{len(scored):,} forecasts")
    if not parts:
        raise ValueError("the backtest window holds no forecasts with known actuals")
    predictions = pd.concat(parts, ignore_index=True)
    return Backtest(predictions, forecast_metrics(predictions, [MODEL, *BASELINES]), tuple(bounds))


def forecast_metrics(predictions: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """MAE and RMSE per method, horizon and zone type (and `ALL` zone types)."""
    out = []
    long = predictions.melt(id_vars=["zone_type", "horizon", "actual_rate"], value_vars=methods,
                            var_name="method", value_name="predicted")
    long["err"] = long.predicted - long.actual_rate
    for zone_type, frame in [(ALL, long), *long.groupby("zone_type")]:
        g = frame.groupby(["method", "horizon"]).err
        stats = pd.DataFrame({"n": g.size(), "mae": g.apply(lambda e: float(np.mean(np.abs(e)))),
                              "rmse": g.apply(lambda e: float(np.sqrt(np.mean(e**2))))}).reset_index()
        out.append(stats.assign(zone_type=zone_type))
    return pd.concat(out, ignore_index=True)[["method", "zone_type", "horizon", "n", "mae", "rmse"]]
