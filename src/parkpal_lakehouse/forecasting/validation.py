"""`parkpal forecast validate`: promote the challenger to champion, or refuse and say why.

Two gates, both must pass:
1. Baselines: in the challenger's own rolling-origin backtest, its 24 h ahead MAE is below the best
   baseline's by at least `min_improvement_over_baseline`.
2. Champion: on the hours after both models' training cutoffs (data neither was fitted on), the
   challenger's MAE over horizons 1-24 is no worse than the current champion's. No champion yet:
   this gate passes.
The outcome is written to the model version's tags (`validation_status`, the figures and reasons).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mlflow.pyfunc
import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, FEATURE_LOOKBACK
from parkpal_lakehouse.forecasting.registry import CHALLENGER, CHAMPION, Registry
from parkpal_lakehouse.forecasting.training import CUTOFF_PARAM, feature_frame


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


def holdout_rows(rows: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Forecasts from origins at or after `cutoff` whose actual is known."""
    return rows[(rows.origin_hour >= cutoff) & rows.actual_rate.notna()]


def mae_of(model_uri: str, rows: pd.DataFrame) -> float:
    predicted = mlflow.pyfunc.load_model(model_uri).predict(rows[list(FEATURE_COLUMNS)].reset_index(drop=True))
    return float(np.mean(np.abs(predicted.predicted_rate.to_numpy() - rows.actual_rate.to_numpy())))


def decide(challenger_mae_24h: float, best_baseline: tuple[str, float], min_improvement: float,
           challenger_holdout_mae: float | None, champion_holdout_mae: float | None) -> tuple[bool, list[str]]:
    """The promotion rule on the figures alone (pure)."""
    reasons, ok = [], True
    name, baseline_mae = best_baseline
    gain = 1 - challenger_mae_24h / baseline_mae if baseline_mae > 0 else 0.0
    passed = gain >= min_improvement and challenger_mae_24h < baseline_mae
    ok &= passed
    reasons.append(f"{'pass' if passed else 'FAIL'} baselines: backtest 24h MAE {100 * challenger_mae_24h:.2f} pp vs "
                   f"best baseline {name} {100 * baseline_mae:.2f} pp ({gain:+.1%}; needs >= {min_improvement:.0%} and "
                   "strictly better)")
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
                        timezone: str) -> Decision:
    """Apply both gates to @challenger on the current `series` (features built for the holdout only)."""
    challenger = registry.require(CHALLENGER, "run `parkpal forecast train` first")
    champion = registry.version(CHAMPION)
    if champion is not None and str(champion.version) == str(challenger.version):
        same = str(champion.version)
        return Decision(same, same, True, ["the challenger already is the champion"])
    run = registry.client.get_run(challenger.run_id)
    metrics = run.data.metrics
    best = min(((k.removeprefix("mae_h24_"), v) for k, v in metrics.items()
                if k.startswith("mae_h24_") and k not in ("mae_h24_model", "mae_h24_best_baseline")),
               key=lambda kv: kv[1])
    cutoff = pd.Timestamp(run.data.params[CUTOFF_PARAM])
    if champion is not None:  # compare where neither model was fitted, whichever was trained on newer data
        champion_params = registry.client.get_run(champion.run_id).data.params
        cutoff = max(cutoff, pd.Timestamp(champion_params.get(CUTOFF_PARAM, cutoff.isoformat())))
    recent = series.where(F.col("hour_start") > F.lit((cutoff - FEATURE_LOOKBACK).to_pydatetime()))
    holdout = holdout_rows(feature_frame(spark, config, recent, timezone), cutoff)
    challenger_mae = champion_mae = None
    if champion is not None:
        champion_mae = mae_of(registry.model_uri(CHAMPION), holdout) if len(holdout) else float("nan")
    if len(holdout):
        challenger_mae = mae_of(registry.model_uri(CHALLENGER), holdout)
    if champion_mae is not None and np.isnan(champion_mae):
        champion_mae = float("inf")
    promoted, reasons = decide(metrics["mae_h24_model"], best, config.forecast.min_improvement_over_baseline,
                               challenger_mae, champion_mae)
    figures = {"backtest_mae_h24": metrics["mae_h24_model"], "best_baseline_mae_h24": best[1]}
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
