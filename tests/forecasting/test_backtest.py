"""Baselines and the rolling-origin backtest against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkpal_lakehouse.forecasting.backtest import MODEL, fold_bounds, forecast_metrics, training_rows
from parkpal_lakehouse.forecasting.baselines import BASELINES, baseline_predictions, weekday_hour_means
from parkpal_lakehouse.forecasting.validation import decide


def test_baselines_by_hand():
    history = pd.DataFrame({"zone_id": ["1"] * 4, "day_of_week": [1, 1, 1, 2], "hour_of_day": [8, 8, 9, 8],
                            "actual_rate": [0.2, 0.4, 0.9, 0.7]})
    means = weekday_hour_means(history)
    assert means.set_index(["day_of_week", "hour_of_day"]).weekday_hour_mean.to_dict() == pytest.approx(
        {(1, 8): 0.3, (1, 9): 0.9, (2, 8): 0.7})
    rows = pd.DataFrame({"zone_id": ["1", "1", "2"], "day_of_week": [1, 3, 1], "hour_of_day": [8, 8, 8],
                         "horizon": [3, 24, 1], "origin_rate": [0.5, 0.6, 0.1], "lag_24h": [0.45, 0.55, 0.15],
                         "lag_168h": [0.35, 0.65, 0.05]})
    preds = baseline_predictions(rows, means)
    assert list(preds.columns) == list(BASELINES)
    assert preds.persistence.tolist() == [0.5, 0.6, 0.1]
    assert preds.same_hour_yesterday.tolist() == [0.45, 0.55, 0.15]
    assert preds.same_hour_last_week.tolist() == [0.35, 0.65, 0.05]
    # Zone 1 on Monday 8:00 -> 0.3; no Wednesday 8:00 nor any zone-2 history: persistence instead.
    assert preds.weekday_hour_mean.tolist() == pytest.approx([0.3, 0.6, 0.1])


def test_metrics_by_hand():
    predictions = pd.DataFrame({"zone_type": ["LOT", "LOT", "STREET"], "horizon": [1, 1, 1],
                                "actual_rate": [0.5, 0.2, 0.4], MODEL: [0.4, 0.4, 0.4],
                                **{b: [0.5, 0.2, 0.0] for b in BASELINES}})
    m = forecast_metrics(predictions, [MODEL, *BASELINES]).set_index(["method", "zone_type", "horizon"])
    assert m.loc[(MODEL, "ALL", 1)].mae == pytest.approx((0.1 + 0.2 + 0.0) / 3)
    assert m.loc[(MODEL, "ALL", 1)].rmse == pytest.approx(np.sqrt((0.01 + 0.04) / 3))
    assert m.loc[(MODEL, "LOT", 1)].mae == pytest.approx(0.15)
    assert m.loc[("persistence", "STREET", 1)].mae == pytest.approx(0.4)
    assert m.loc[("persistence", "ALL", 1)].n == 3


def test_folds_cover_the_window_without_overlap():
    end = pd.Timestamp("2026-11-01 14:00")
    bounds = fold_bounds(end, days=14, folds=2)
    assert bounds == [(pd.Timestamp("2026-10-18 14:00"), pd.Timestamp("2026-10-25 14:00")),
                      (pd.Timestamp("2026-10-25 14:00"), end)]


def test_training_rows_only_know_the_past():
    hours = pd.date_range("2026-10-01", periods=10, freq="h")
    rows = pd.DataFrame({"origin_hour": hours, "target_hour": hours + pd.Timedelta(hours=2),
                         "actual_rate": [0.1] * 9 + [None]})
    picked = training_rows(rows, cutoff=hours[6], origin_step_hours=2)
    assert (picked.target_hour <= hours[6]).all()
    assert picked.origin_hour.dt.hour.tolist() == [0, 2, 4]


@pytest.mark.parametrize(("figures", "promoted", "why"), [
    ((0.06, ("weekday_hour_mean", 0.08), 0.15, 0.05, 0.055), True, "pass champion"),
    ((0.07, ("weekday_hour_mean", 0.08), 0.15, 0.05, 0.055), False, "FAIL baselines"),
    ((0.08, ("persistence", 0.08), 0.0, None, None), False, "FAIL baselines"),
    ((0.06, ("weekday_hour_mean", 0.08), 0.0, 0.06, 0.05), False, "FAIL champion"),
    ((0.06, ("weekday_hour_mean", 0.08), 0.0, None, 0.05), False, "no hours after"),
    ((0.06, ("weekday_hour_mean", 0.08), 0.0, None, None), True, "no champion yet"),
])
def test_the_promotion_rule(figures, promoted, why):
    ok, reasons = decide(*figures)
    assert ok is promoted
    assert any(why in r for r in reasons)
