"""What decides whether `forecast train` fits again: the training fingerprint (pure, on hand-made rows)."""

from dataclasses import replace

import pandas as pd

from parkpal_lakehouse.config import ForecastSettings
from parkpal_lakehouse.forecasting.features import ForecastCalendar
from parkpal_lakehouse.forecasting.model import DEFAULT_PARAMS
from parkpal_lakehouse.forecasting.training import Holdout, training_fingerprint

MANILA = ForecastCalendar.of("Asia/Manila")
SETTINGS = ForecastSettings()
ROWS = pd.DataFrame({"zone_id": [1, 1, 2], "origin_hour": pd.to_datetime(["2026-11-04 08:00"] * 3),
                     "horizon": [1, 2, 1], "lag_1h": [0.40, 0.40, 0.75], "actual_rate": [0.42, 0.47, None]})


def _fingerprint(rows=ROWS, settings=SETTINGS, params=DEFAULT_PARAMS, source="gold", calendar=MANILA,
                 holdout=None) -> str:
    return training_fingerprint(rows, settings, dict(params), source, calendar, holdout)


def test_the_same_rows_in_another_order_are_the_same_training():
    assert _fingerprint(ROWS.iloc[::-1]) == _fingerprint() == _fingerprint(ROWS[ROWS.columns[::-1]])


def test_any_change_a_fit_depends_on_is_another_training():
    base = _fingerprint()
    late_actual = ROWS.assign(actual_rate=[0.42, 0.47, 0.70])  # an actual that arrived since
    repaired = ROWS.assign(lag_1h=[0.40, 0.41, 0.75])  # a repaired hour changes a feature
    window = Holdout.of(pd.Timestamp("2026-10-24 16:00"), pd.Timestamp("2026-10-31 16:00"))
    others = [_fingerprint(late_actual), _fingerprint(repaired), _fingerprint(ROWS.iloc[:2]),
              _fingerprint(settings=replace(SETTINGS, backtest_days=7)),
              _fingerprint(params={**DEFAULT_PARAMS, "max_iter": 301}), _fingerprint(source="history.csv"),
              _fingerprint(calendar=ForecastCalendar.of("Asia/Manila", "none")), _fingerprint(holdout=window)]
    assert base not in others and len(set(others)) == len(others)
