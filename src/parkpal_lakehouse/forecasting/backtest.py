"""Backtests: the model and every baseline on out-of-sample forecasts, compared on the same rows.

Two designs, both a sequence of folds of origins, each fold fitted on the rows whose target hour is
at or before the fold's first origin (what was known then):

- rolling origin (default): the `days` before `end` cut into `folds` consecutive folds, all scored;
- fixed holdout: the origins [from, to) a user chose, fitted on everything before `from`; the
  rolling folds before it serve only to calibrate its intervals.

Only observed targets are scored (a gap has no actual). Every method is scored on the rows where it
is defined, with its `n`; each baseline is compared with the model on exactly its own rows, so a
baseline undefined on hard hours cannot look better or worse than it is. Forecasts are split by
origin: "observed" (the origin hour had a reading) and "in a gap" (the model forecast from an older
reading). 80% intervals are split-conformal: each fold's from the residuals of the folds before it,
so coverage is measured where the intervals had not seen the errors (the first fold has none).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.baselines import (
    BASELINES,
    baseline_predictions,
    observed_hours,
    weekday_hour_means,
)
from parkpal_lakehouse.forecasting.model import OccupancyModel
from parkpal_lakehouse.forecasting.reporting import mark_reporting

MODEL = "model"
REPORTED_HORIZONS = (1, 6, 24)
ALL = "ALL"
ORIGINS = ("all", "observed", "gap")
ROLLING, HOLDOUT = "rolling origin", "fixed holdout"
KEEP = ["zone_id", "zone_type", "origin_hour", "target_hour", "horizon", "hour_of_day", "actual_rate",
        "origin_age_hours"]


@dataclass(frozen=True)
class Comparison:
    """The model against one baseline at one horizon, on the rows where the baseline is defined."""

    baseline: str
    n: int
    baseline_mae: float
    model_mae: float

    @property
    def improvement(self) -> float:
        return 1 - self.model_mae / self.baseline_mae if self.baseline_mae > 0 else 0.0


@dataclass(frozen=True)
class Backtest:
    predictions: pd.DataFrame  # KEEP + model, lower, upper, baselines, fold, evaluated
    metrics: pd.DataFrame  # method, zone_type, origin, horizon, n, mae, rmse, model_mae (same rows)
    folds: tuple[tuple[pd.Timestamp, pd.Timestamp], ...]
    design: str = ROLLING
    coverage_target: float = 0.8

    def row(self, method: str, horizon: int, zone_type: str = ALL, origin: str = "all") -> pd.Series | None:
        m = self.metrics
        found = m[(m.method == method) & (m.horizon == horizon) & (m.zone_type == zone_type) & (m.origin == origin)]
        return found.iloc[0] if len(found) else None

    def mae(self, method: str, horizon: int, zone_type: str = ALL) -> float:
        row = self.row(method, horizon, zone_type)
        return float(row.mae) if row is not None else float("nan")

    def comparisons(self, horizon: int, zone_type: str = ALL) -> list[Comparison]:
        out = []
        for b in BASELINES:
            row = self.row(b, horizon, zone_type)
            if row is not None and row.n > 0:
                out.append(Comparison(b, int(row.n), float(row.mae), float(row.model_mae)))
        return out

    def best_baseline(self, horizon: int, zone_type: str = ALL) -> Comparison | None:
        """The baseline the model beats by the least, on that baseline's own rows."""
        found = self.comparisons(horizon, zone_type)
        return min(found, key=lambda c: c.improvement) if found else None

    def coverage(self, horizon: int | None = None, zone_type: str = ALL) -> tuple[float, int]:
        """Share of evaluated actuals inside their interval, and how many had one."""
        p = self.predictions
        p = p[p.evaluated & p.lower.notna()]
        if horizon is not None:
            p = p[p.horizon == horizon]
        if zone_type != ALL:
            p = p[p.zone_type == zone_type]
        if p.empty:
            return float("nan"), 0
        inside = (p.actual_rate >= p.lower) & (p.actual_rate <= p.upper)
        return float(inside.mean()), len(p)

    def evaluated_folds(self) -> str:
        folds = sorted(self.predictions.loc[self.predictions.evaluated, "fold"].unique())
        first, last = self.folds[folds[0] - 1][0], self.folds[folds[-1] - 1][1]
        return f"origins {first:%Y-%m-%d %H:00} to {last:%Y-%m-%d %H:00} UTC"

    def table(self, horizons: tuple[int, ...] = REPORTED_HORIZONS) -> str:
        """Per horizon: each method's n, MAE, RMSE, the model's MAE on the same rows and the gain;
        interval coverage; per zone type the hardest comparison; observed vs gap origins."""
        lines: list[str] = []
        zone_types = sorted(set(self.metrics.zone_type) - {ALL})
        for h in horizons:
            model = self.row(MODEL, h)
            if model is None:
                continue
            lines.append(f"{h}h ahead ({self.evaluated_folds()}), occupancy rate error in percentage points:")
            lines.append(f"  {'method':<20} {'n':>8} {'MAE':>7} {'RMSE':>7}   {'model MAE, same rows':>20} "
                         f"{'model better by':>15}")
            lines.append(f"  {MODEL:<20} {int(model.n):>8,} {100 * model.mae:>7.2f} {100 * model.rmse:>7.2f}")
            for b in BASELINES:
                row = self.row(b, h)
                if row is None or row.n == 0:
                    lines.append(f"  {b:<20} {0:>8} {'-':>7} {'-':>7}   (undefined on every scored row)")
                    continue
                gain = Comparison(b, int(row.n), float(row.mae), float(row.model_mae)).improvement
                lines.append(f"  {b:<20} {int(row.n):>8,} {100 * row.mae:>7.2f} {100 * row.rmse:>7.2f}   "
                             f"{100 * row.model_mae:>20.2f} {gain:>+15.1%}")
            cov, n = self.coverage(h)
            if n:
                lines.append(f"  {self.coverage_target:.0%} interval: {cov:.1%} of {n:,} actuals inside")
            by_type = []
            for zt in zone_types:
                best = self.best_baseline(h, zt)
                if best is not None:
                    by_type.append(f"{zt} {100 * best.model_mae:.2f} vs {best.baseline} {100 * best.baseline_mae:.2f} "
                                   f"({best.improvement:+.0%}, n {best.n:,})")
            if by_type:
                lines.append("  per zone type, model vs its hardest baseline: " + "; ".join(by_type))
            split = []
            scored = self.predictions[self.predictions.evaluated & (self.predictions.horizon == h)]
            in_gap = scored[scored.origin_age_hours.ne(0)]
            closed = int((~in_gap.origin_reports.astype(bool)).sum()) if "origin_reports" in in_gap else 0
            for origin, label in (("observed", "origin observed"), ("gap", "origin in a gap")):
                row = self.row(MODEL, h, ALL, origin)
                if row is not None and row.n:
                    pers = self.row("persistence", h, ALL, origin)
                    extra = (f", persistence {100 * pers.mae:.2f}" if pers is not None and pers.n else "")
                    if origin == "gap" and closed:
                        extra += f"; {closed:,} of them from outside the reporting hours"
                    split.append(f"{label}: model {100 * row.mae:.2f} (n {int(row.n):,}{extra})")
            if split:
                lines.append("  " + "; ".join(split))
        return "\n".join(lines)

    def headline(self, horizon: int = 24) -> str:
        best = self.best_baseline(horizon)
        if best is None:
            return f"{horizon}h ahead: no baseline is defined on the scored rows"
        return (f"{horizon}h ahead: model MAE {100 * best.model_mae:.2f} pp vs the hardest baseline ({best.baseline}) "
                f"{100 * best.baseline_mae:.2f} pp on the same {best.n:,} forecasts: {abs(best.improvement):.1%} "
                + ("better" if best.improvement >= 0 else "WORSE"))


def fold_bounds(end: pd.Timestamp, days: int, folds: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, stop) origin ranges of `folds` equal folds covering the `days` before `end`."""
    start = end - timedelta(days=days)
    step = (end - start) / folds
    edges = [start + i * step for i in range(folds)] + [end]
    return [(edges[i].floor("h"), edges[i + 1].floor("h")) for i in range(folds)]


def training_rows(rows: pd.DataFrame, cutoff: pd.Timestamp, origin_step_hours: int) -> pd.DataFrame:
    """Rows known at `cutoff` (target at or before it, observed), every `origin_step_hours`-th origin."""
    known = rows[(rows.target_hour <= cutoff) & rows.actual_rate.notna()]
    epoch_hours = (known.origin_hour - pd.Timestamp("1970-01-01")) // pd.Timedelta(hours=1)
    return known[epoch_hours % origin_step_hours == 0]


def history_rows(rows: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The horizon-1 rows of every target hour up to `cutoff`, gaps included (the model's profiles)."""
    return rows[(rows.horizon == 1) & (rows.target_hour <= cutoff)]


def fit_until(rows: pd.DataFrame, cutoff: pd.Timestamp, origin_step_hours: int, params: dict,
              coverage: float) -> OccupancyModel:
    """A model fitted on what was known at `cutoff`."""
    return OccupancyModel(params=dict(params), coverage=coverage).fit(
        training_rows(rows, cutoff, origin_step_hours), history_rows(rows, cutoff))


def residuals_of(predictions: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"horizon": predictions.horizon.to_numpy(), "zone_type": predictions.zone_type.to_numpy(),
                         "hour_of_day": predictions.hour_of_day.to_numpy(),
                         "residual": (predictions.actual_rate - predictions[MODEL]).to_numpy()})


def run_folds(rows: pd.DataFrame, bounds: list[tuple[pd.Timestamp, pd.Timestamp]], evaluated_from: int,
              params: dict, origin_step_hours: int, coverage: float, design: str,
              progress: Callable[[str], None] = lambda _m: None) -> Backtest:
    """Fit at each fold's start, forecast its origins; folds numbered from 1, scored from `evaluated_from`."""
    parts: list[pd.DataFrame] = []
    began = time.perf_counter()
    for i, (start, stop) in enumerate(bounds, 1):
        scored = rows[(rows.origin_hour >= start) & (rows.origin_hour < stop) & rows.actual_rate.notna()]
        if scored.empty:
            continue
        model = fit_until(rows, start, origin_step_hours, params, coverage)
        if parts:  # split conformal: the residuals of the folds before this one
            model.calibrate(residuals_of(pd.concat(parts)))
        out = model.predict_frame(scored)
        preds = baseline_predictions(scored, weekday_hour_means(observed_hours(rows[rows.target_hour <= start])))
        preds[MODEL] = out.predicted_rate.to_numpy()
        preds["lower"] = out.lower_rate.to_numpy() if parts else np.nan
        preds["upper"] = out.upper_rate.to_numpy() if parts else np.nan
        marks = mark_reporting(scored, model.reporting)[["target_reports", "origin_reports"]]
        parts.append(pd.concat([scored[KEEP], preds, marks], axis=1).assign(fold=i, evaluated=i >= evaluated_from))
        role = "scored" if i >= evaluated_from else "calibration only"
        elapsed, left = time.perf_counter() - began, len(bounds) - i
        eta = f"; about {elapsed / i * left:.0f}s to go for {left} more" if left else ""
        progress(f"backtest fold {i}/{len(bounds)} ({role}): origins {start:%Y-%m-%d %H:00} - {stop:%Y-%m-%d %H:00} "
                 f"UTC, {len(scored):,} forecasts ({elapsed:.0f}s{eta})")
    predictions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if predictions.empty or not predictions.evaluated.any():
        first, last = bounds[evaluated_from - 1][0], bounds[-1][1]
        raise ParkPalError(f"the backtest window (origins {first:%Y-%m-%d %H:00} to {last:%Y-%m-%d %H:00} UTC) holds "
                           "no forecast with an observed actual: choose hours the series reports")
    metrics = forecast_metrics(predictions[predictions.evaluated], [MODEL, *BASELINES])
    return Backtest(predictions, metrics, tuple(bounds), design, coverage)


def rolling_origin_backtest(rows: pd.DataFrame, end: pd.Timestamp, days: int, folds: int, params: dict,
                            origin_step_hours: int, coverage: float,
                            progress: Callable[[str], None] = lambda _m: None) -> Backtest:
    return run_folds(rows, fold_bounds(end, days, folds), 1, params, origin_step_hours, coverage, ROLLING, progress)


def holdout_backtest(rows: pd.DataFrame, start: pd.Timestamp, stop: pd.Timestamp, calibration_days: int,
                     calibration_folds: int, params: dict, origin_step_hours: int, coverage: float,
                     progress: Callable[[str], None] = lambda _m: None) -> Backtest:
    """Origins [start, stop) scored by a model fitted on everything before `start`; the rolling folds
    over the `calibration_days` before it calibrate the intervals only."""
    bounds = [*fold_bounds(start, calibration_days, calibration_folds), (start, stop)]
    return run_folds(rows, bounds, len(bounds), params, origin_step_hours, coverage, HOLDOUT, progress)


def _errors(err: np.ndarray) -> tuple[float, float]:
    return float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2)))


def forecast_metrics(predictions: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Per method, horizon, zone type (and ALL) and origin (all / observed / gap): n, MAE, RMSE on the
    rows where the method is defined, and `model_mae`: the model's MAE on those same rows."""
    p = predictions.assign(origin_observed=predictions.origin_age_hours.eq(0))
    out = []
    for zone_type, by_type in [(ALL, p), *p.groupby("zone_type")]:
        for origin, frame in (("all", by_type), ("observed", by_type[by_type.origin_observed]),
                              ("gap", by_type[~by_type.origin_observed])):
            for h, at_h in frame.groupby("horizon"):
                actual = at_h.actual_rate.to_numpy(dtype=float)
                model_err = at_h[MODEL].to_numpy(dtype=float) - actual
                for method in methods:
                    pred = at_h[method].to_numpy(dtype=float)
                    defined = ~np.isnan(pred)
                    n = int(defined.sum())
                    mae, rmse = _errors(pred[defined] - actual[defined]) if n else (float("nan"), float("nan"))
                    model_mae = _errors(model_err[defined])[0] if n else float("nan")
                    out.append((method, zone_type, origin, int(h), n, mae, rmse, model_mae))
    return pd.DataFrame(out, columns=["method", "zone_type", "origin", "horizon", "n", "mae", "rmse", "model_mae"])


def calibration_residuals(backtest: Backtest) -> pd.DataFrame:
    """Residuals to calibrate a model fitted after the backtest: every fold's in rolling origin; the
    calibration folds' only in a fixed holdout (the holdout stays unseen)."""
    p = backtest.predictions
    if backtest.design == HOLDOUT:
        p = p[~p.evaluated]
    return residuals_of(p)

