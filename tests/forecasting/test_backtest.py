"""Baselines, metrics, intervals and the promotion rule against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkpal_lakehouse.forecasting.backtest import (
    ALL,
    MODEL,
    Backtest,
    Comparison,
    forecast_metrics,
)
from parkpal_lakehouse.forecasting.baselines import BASELINES, baseline_predictions, weekday_hour_means
from parkpal_lakehouse.forecasting.model import ANY_HOUR, POOLED, OccupancyModel, conformal_widths
from parkpal_lakehouse.forecasting.validation import decide, hardest_baseline


def test_baselines_by_hand():
    history = pd.DataFrame({"zone_id": ["1"] * 4, "day_of_week": [1, 1, 1, 2], "hour_of_day": [8, 8, 9, 8],
                            "actual_rate": [0.2, 0.4, 0.9, 0.7]})
    means = weekday_hour_means(history)
    assert means.set_index(["day_of_week", "hour_of_day"]).weekday_hour_mean.to_dict() == pytest.approx(
        {(1, 8): 0.3, (1, 9): 0.9, (2, 8): 0.7})
    rows = pd.DataFrame({"zone_id": ["1", "1", "2"], "day_of_week": [1, 3, 1], "hour_of_day": [8, 8, 8],
                         "horizon": [3, 24, 1], "origin_rate": [0.5, 0.6, 0.1], "origin_age_hours": [0, 14, 0],
                         "lag_24h": [0.45, 0.55, 0.15], "lag_24h_age_hours": [0, 0, 2],
                         "lag_168h": [0.35, 0.65, 0.05], "lag_168h_age_hours": [15, 0, 0]})
    preds = baseline_predictions(rows, means)
    assert list(preds.columns) == list(BASELINES)
    # A value carried over a gap (age > 0) is no seasonal naive: undefined, never filled from another.
    assert preds.persistence.tolist() == pytest.approx([0.5, np.nan, 0.1], nan_ok=True)
    assert preds.same_hour_yesterday.tolist() == pytest.approx([0.45, 0.55, np.nan], nan_ok=True)
    assert preds.same_hour_last_week.tolist() == pytest.approx([np.nan, 0.65, 0.05], nan_ok=True)
    # Zone 1 on Monday 8:00 -> 0.3; no Wednesday 8:00 nor any zone-2 history: undefined.
    assert preds.weekday_hour_mean.tolist() == pytest.approx([0.3, np.nan, np.nan], nan_ok=True)


def test_metrics_by_hand_each_method_on_its_own_rows():
    predictions = pd.DataFrame({"zone_type": ["LOT", "LOT", "STREET"], "horizon": [1, 1, 1],
                                "origin_age_hours": [0, 0, 5], "actual_rate": [0.5, 0.2, 0.4], MODEL: [0.4, 0.4, 0.4],
                                "persistence": [0.5, 0.2, np.nan], "same_hour_yesterday": [0.4, 0.3, 0.0],
                                "same_hour_last_week": [np.nan] * 3, "weekday_hour_mean": [0.5, 0.2, 0.0]})
    m = forecast_metrics(predictions, [MODEL, *BASELINES]).set_index(["method", "zone_type", "origin", "horizon"])
    assert m.loc[(MODEL, ALL, "all", 1)].mae == pytest.approx((0.1 + 0.2 + 0.0) / 3)
    assert m.loc[(MODEL, ALL, "all", 1)].rmse == pytest.approx(np.sqrt((0.01 + 0.04) / 3))
    assert m.loc[(MODEL, "LOT", "all", 1)].mae == pytest.approx(0.15)
    # persistence is undefined on the STREET row (its origin was in a gap): n 2, and the model is
    # compared with it on those two rows only.
    pers = m.loc[("persistence", ALL, "all", 1)]
    assert (pers.n, pers.mae, pers.model_mae) == (2, pytest.approx(0.0), pytest.approx(0.15))
    assert m.loc[("same_hour_yesterday", ALL, "all", 1)].n == 3
    assert m.loc[("same_hour_last_week", ALL, "all", 1)].n == 0
    assert m.loc[(MODEL, ALL, "gap", 1)].n == 1 and m.loc[(MODEL, ALL, "observed", 1)].n == 2
    assert m.loc[(MODEL, ALL, "gap", 1)].mae == pytest.approx(0.0)


def test_the_hardest_baseline_is_the_one_beaten_by_the_least_on_its_rows():
    metrics = forecast_metrics(pd.DataFrame({
        "zone_type": ["LOT"] * 4, "horizon": [24] * 4, "origin_age_hours": [0] * 4,
        "actual_rate": [0.5, 0.5, 0.5, 0.5], MODEL: [0.4, 0.4, 0.5, 0.5],
        # persistence is defined only where the model did badly: its raw MAE (0.2) is the worst, but
        # on its own rows the model (0.1) beats it by just 50%; weekday_hour_mean 0.1 vs 0.05: 50%.
        "persistence": [0.3, 0.3, np.nan, np.nan], "same_hour_yesterday": [0.2, 0.2, 0.2, 0.2],
        "same_hour_last_week": [np.nan] * 4, "weekday_hour_mean": [0.6, 0.6, 0.6, 0.6]}), [MODEL, *BASELINES])
    backtest = Backtest(pd.DataFrame(), metrics, ())
    found = {c.baseline: c for c in backtest.comparisons(24)}
    assert set(found) == {"persistence", "same_hour_yesterday", "weekday_hour_mean"}
    assert found["persistence"].model_mae == pytest.approx(0.1) and found["persistence"].n == 2
    assert found["same_hour_yesterday"].improvement == pytest.approx(1 - 0.05 / 0.3)
    assert backtest.best_baseline(24).baseline in {"persistence", "weekday_hour_mean"}
    assert backtest.best_baseline(24).improvement == pytest.approx(0.5)


def test_conformal_half_widths_by_hand():
    lot = np.linspace(-0.3, 0.3, 60)  # 60 LOT residuals at 8:00: their own group
    residuals = pd.DataFrame({"horizon": 1, "zone_type": ["LOT"] * 60 + ["STREET"] * 10,
                              "hour_of_day": 8, "residual": [*lot, *[1.0] * 10]})
    widths = conformal_widths(residuals, 0.8).set_index(["horizon", "zone_type", "hour_of_day"]).half_width
    assert widths[(1, "LOT", 8)] == pytest.approx(np.quantile(np.abs(lot), 0.8))
    assert (1, "STREET", 8) not in widths and (1, "STREET", ANY_HOUR) not in widths  # 10 are too few
    pooled = np.abs(residuals.residual.to_numpy())
    assert widths[(1, POOLED, ANY_HOUR)] == pytest.approx(np.quantile(pooled, 0.8))
    model = OccupancyModel(widths=conformal_widths(residuals, 0.8))
    rows = pd.DataFrame({"horizon": [1, 1, 1, 2], "zone_type": ["LOT", "STREET", "LOT", "LOT"],
                         "hour_of_day": [8, 8, 9, 8]})
    # its group; STREET pooled; LOT at 9:00 falls back to LOT at any hour; horizon 2: uncalibrated.
    assert model.half_widths(rows) == pytest.approx([np.quantile(np.abs(lot), 0.8), np.quantile(pooled, 0.8),
                                                     np.quantile(np.abs(lot), 0.8), 0.0])


WEEKDAY = Comparison("weekday_hour_mean", 500, 0.08, 0.06)


@pytest.mark.parametrize(("figures", "promoted", "why"), [
    ((WEEKDAY, 24, 0.15, 0.05, 0.055), True, "pass champion"),
    ((Comparison("weekday_hour_mean", 500, 0.08, 0.07), 24, 0.15, 0.05, 0.055), False, "FAIL baselines"),
    ((Comparison("persistence", 500, 0.08, 0.08), 24, 0.0, None, None), False, "FAIL baselines"),
    ((WEEKDAY, 24, 0.0, 0.06, 0.05), False, "FAIL champion"),
    ((WEEKDAY, 24, 0.0, None, 0.05), False, "no hours after"),
    ((WEEKDAY, 24, 0.0, None, None), True, "no champion yet"),
    ((None, 24, 0.0, None, None), False, "no same-row baseline comparison"),
])
def test_the_promotion_rule(figures, promoted, why):
    ok, reasons = decide(*figures)
    assert ok is promoted
    assert any(why in r for r in reasons)


def test_the_gate_reads_the_same_row_figures_the_training_run_logged():
    metrics = {"n_h24_persistence": 400.0, "mae_h24_persistence": 0.20, "model_mae_h24_vs_persistence": 0.10,
               "n_h24_weekday_hour_mean": 900.0, "mae_h24_weekday_hour_mean": 0.08,
               "model_mae_h24_vs_weekday_hour_mean": 0.07, "n_h24_same_hour_last_week": 0.0}
    hardest = hardest_baseline(metrics, 24)
    assert (hardest.baseline, hardest.n, hardest.baseline_mae, hardest.model_mae) == ("weekday_hour_mean", 900,
                                                                                      0.08, 0.07)
    assert hardest_baseline({"mae_h24_model": 0.05}, 24) is None  # a run from before same-row figures
