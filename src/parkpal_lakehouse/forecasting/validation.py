"""`parkpal forecast validate`: promote the challenger to champion, or refuse and say why.

Two gates, both must pass:
1. Baselines: in the challenger's own backtest, at the longest horizon (24 h), its MAE is below the
   hardest baseline's by at least `min_improvement_over_baseline`, compared on the rows where that
   baseline is defined (a seasonal naive without its reference reading is not a forecast).
2. Champion: on the hours after both models' training cutoffs (data neither was fitted on), or on
   `--holdout-from/--holdout-to` when given (it must start after both cutoffs), the challenger's MAE
   over horizons 1-24 is no worse than the current champion's. No champion yet: this gate passes.
The outcome is written to the model version's tags (`validation_status`, the figures and reasons).
A refusal is reported the same way by every door: `parkpal forecast validate` and the
`parkpal-forecast-validate` job task both exit 0 having changed nothing (a verdict, not a failure:
the champion keeps serving); the output and the version's `validation_status` tag say "refused" and
why. Errors (no challenger, a bad window) exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.backtest import Comparison
from parkpal_lakehouse.forecasting.baselines import BASELINES
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, FEATURE_LOOKBACK, ForecastCalendar
from parkpal_lakehouse.forecasting.model import load_occupancy_model
from parkpal_lakehouse.forecasting.registry import CHALLENGER, CHAMPION, Registry
from parkpal_lakehouse.forecasting.training import CUTOFF_PARAM, Holdout, feature_frame


@dataclass(frozen=True)
class Decision:
    challenger: str
    champion: str | None
    promoted: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        verdict = (f"promoted version {self.challenger} to @{CHAMPION}" if self.promoted
                   else f"refused: version {self.challenger} stays @{CHALLENGER}"
                   + (f", version {self.champion} stays @{CHAMPION}" if self.champion else ", no champion yet"))
        return [*self.reasons, verdict]


def holdout_rows(rows: pd.DataFrame, cutoff: pd.Timestamp, stop: pd.Timestamp | None = None) -> pd.DataFrame:
    """Forecasts from origins at or after `cutoff` (and before `stop`) whose actual is known."""
    chosen = (rows.origin_hour >= cutoff) & rows.actual_rate.notna()
    if stop is not None:
        chosen &= rows.origin_hour < stop
    return rows[chosen]


def hardest_baseline(metrics: dict[str, float], horizon: int) -> Comparison | None:
    """The baseline the challenger beat by the least in its backtest (same-row figures from MLflow)."""
    found = []
    for b in BASELINES:
        keys = (f"n_h{horizon}_{b}", f"mae_h{horizon}_{b}", f"model_mae_h{horizon}_vs_{b}")
        if all(k in metrics for k in keys) and metrics[keys[0]] > 0:
            found.append(Comparison(b, int(metrics[keys[0]]), metrics[keys[1]], metrics[keys[2]]))
    return min(found, key=lambda c: c.improvement) if found else None


def mae_of(model_uri: str, rows: pd.DataFrame) -> float:
    predicted = load_occupancy_model(model_uri).predict_frame(rows[list(FEATURE_COLUMNS)].reset_index(drop=True))
    return float(np.mean(np.abs(predicted.predicted_rate.to_numpy() - rows.actual_rate.to_numpy())))


def decide(hardest: Comparison | None, horizon: int, min_improvement: float,
           challenger_holdout_mae: float | None, champion_holdout_mae: float | None) -> tuple[bool, list[str]]:
    """The promotion rule on the figures alone (pure)."""
    reasons, ok = [], True
    if hardest is None:
        ok = False
        reasons.append(f"FAIL baselines: the challenger's run has no same-row baseline comparison at {horizon}h "
                       "(trained before honest baselines, or no baseline defined): retrain it")
    else:
        gain = hardest.improvement
        passed = gain >= min_improvement and hardest.model_mae < hardest.baseline_mae
        ok &= passed
        reasons.append(f"{'pass' if passed else 'FAIL'} baselines: backtest {horizon}h MAE "
                       f"{100 * hardest.model_mae:.2f} pp vs the hardest baseline {hardest.baseline} "
                       f"{100 * hardest.baseline_mae:.2f} pp on the same {hardest.n:,} forecasts ({gain:+.1%}; "
                       f"needs >= {min_improvement:.0%} and strictly better)")
    if champion_holdout_mae is None:
        reasons.append("pass champion: no champion yet")
    elif challenger_holdout_mae is None:
        ok = False
        reasons.append("FAIL champion: no hours after both models' training cutoffs to compare on")
    else:
        passed = challenger_holdout_mae <= champion_holdout_mae
        ok &= passed
        reasons.append(f"{'pass' if passed else 'FAIL'} champion: holdout MAE (horizons 1-24) challenger "
                       f"{100 * challenger_holdout_mae:.2f} pp vs champion {100 * champion_holdout_mae:.2f} pp")
    return ok, reasons


def validate_challenger(spark: SparkSession, config: LakehouseConfig, registry: Registry, series: DataFrame,
                        calendar: ForecastCalendar, holdout: Holdout | None = None) -> Decision:
    """Apply both gates to @challenger on the current `series` (features built for the holdout only)."""
    challenger = registry.require(CHALLENGER, "run `parkpal forecast train` first")
    champion = registry.version(CHAMPION)
    if champion is not None and str(champion.version) == str(challenger.version):
        same = str(champion.version)
        return Decision(same, same, True, ["the challenger already is the champion"])
    run = registry.client.get_run(challenger.run_id)
    metrics = run.data.metrics
    horizon = int(run.data.params.get("gate_horizon", config.forecast.horizon_hours))
    hardest = hardest_baseline(metrics, horizon)
    cutoff = pd.Timestamp(run.data.params[CUTOFF_PARAM])
    if champion is not None:  # compare where neither model was fitted, whichever was trained on newer data
        champion_params = registry.client.get_run(champion.run_id).data.params
        cutoff = max(cutoff, pd.Timestamp(champion_params.get(CUTOFF_PARAM, cutoff.isoformat())))
    stop = None
    if holdout is not None:
        if holdout.start < cutoff:
            raise ParkPalError(f"--holdout-from {holdout.start:%Y-%m-%d %H:00} is before {cutoff:%Y-%m-%d %H:00} UTC, "
                               "the newest training cutoff of the two models: one of them was fitted on that window")
        cutoff, stop = holdout.start, holdout.stop
    recent = series.where(F.col("hour_start") > F.lit((cutoff - FEATURE_LOOKBACK).to_pydatetime()))
    scored = holdout_rows(feature_frame(spark, config, recent, calendar), cutoff, stop)
    challenger_mae = champion_mae = None
    if champion is not None:
        champion_mae = mae_of(registry.model_uri(CHAMPION), scored) if len(scored) else float("nan")
    if len(scored):
        challenger_mae = mae_of(registry.model_uri(CHALLENGER), scored)
    if champion_mae is not None and np.isnan(champion_mae):
        champion_mae = float("inf")
    promoted, reasons = decide(hardest, horizon, config.forecast.min_improvement_over_baseline,
                               challenger_mae, champion_mae)
    figures = {f"backtest_mae_h{horizon}": hardest.model_mae, f"hardest_baseline_mae_h{horizon}": hardest.baseline_mae,
               f"backtest_improvement_h{horizon}": hardest.improvement} if hardest else {}
    if challenger_mae is not None:
        figures["holdout_mae"] = challenger_mae
    if champion_mae is not None:
        figures["champion_holdout_mae"] = champion_mae
    version = str(challenger.version)
    tag = registry.client.set_model_version_tag
    tag(registry.model_name, version, "validation_status", "promoted" if promoted else "refused")
    tag(registry.model_name, version, "validation_reasons", " | ".join(reasons)[:4000])
    for key, value in figures.items():
        tag(registry.model_name, version, f"validation_{key}", f"{value:.6f}")
    if promoted:
        registry.set_alias(CHAMPION, version)
    return Decision(version, str(champion.version) if champion else None, promoted, reasons, figures)
