"""The learned forecaster: one gradient-boosted model across all zones and horizons 1-24.

Inputs are the feature rows of `features.py`; besides them the model keeps, from its training data,
each zone's mean occupancy by rest day / working day and hour (`zone_profile_rate`), which lets one
global model tell zones apart. It learns the change from the last observed hour (`origin_rate`),
with the seasonal references given as differences from it: trees add poorly, and short horizons are
mostly "where it is now plus a small move". Intervals come from out-of-sample residuals (the backtest's): the
`(1 - coverage) / 2` and `(1 + coverage) / 2` quantiles per horizon added to the point forecast.

`OccupancyForecaster` is the MLflow pyfunc wrapper: input the feature columns, output
`predicted_rate`, `lower_rate`, `upper_rate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

ZONE_TYPE_CODES = {"STREET": 0, "LOT": 1, "GARAGE": 2}
MODEL_FEATURES: tuple[str, ...] = (
    "zone_type_code", "capacity", "horizon", "hour_of_day", "day_of_week", "is_weekend", "is_holiday",
    "is_rest_day", "origin_rate", "origin_mean_24h", "origin_mean_168h", "lag_24h", "lag_168h",
    "same_hour_mean_7d", "zone_profile_rate", "lag_24h_change", "same_hour_mean_7d_change", "zone_profile_change",
)
DEFAULT_PARAMS: dict[str, Any] = {"max_iter": 300, "learning_rate": 0.05, "min_samples_leaf": 100,
                                  "max_leaf_nodes": 31, "l2_regularization": 0.0, "random_state": 7}
OUTPUT_COLUMNS = ("predicted_rate", "lower_rate", "upper_rate")


def zone_profiles(observed: pd.DataFrame) -> pd.DataFrame:
    """Mean rate per zone x rest day x hour of day (observed zone-hours with `is_rest_day`)."""
    return (observed.groupby(["zone_id", "is_rest_day", "hour_of_day"], as_index=False).actual_rate.mean()
            .rename(columns={"actual_rate": "zone_profile_rate"}))


@dataclass
class OccupancyModel:
    params: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    coverage: float = 0.8
    regressor: HistGradientBoostingRegressor | None = None
    profiles: pd.DataFrame | None = None
    # horizon -> (lower, upper) residual quantiles
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)

    def _matrix(self, rows: pd.DataFrame) -> np.ndarray:
        frame = rows.merge(self.profiles, on=["zone_id", "is_rest_day", "hour_of_day"], how="left") \
            if self.profiles is not None else rows.assign(zone_profile_rate=np.nan)
        frame = frame.assign(
            zone_type_code=frame.zone_type.map(ZONE_TYPE_CODES).fillna(len(ZONE_TYPE_CODES)),
            lag_24h_change=frame.lag_24h - frame.origin_rate,
            same_hour_mean_7d_change=frame.same_hour_mean_7d - frame.origin_rate,
            zone_profile_change=frame.zone_profile_rate - frame.origin_rate)
        return frame[list(MODEL_FEATURES)].astype("float64").to_numpy()

    @staticmethod
    def _base(rows: pd.DataFrame) -> np.ndarray:
        return rows.origin_rate.astype("float64").fillna(0.0).to_numpy()

    def fit(self, rows: pd.DataFrame, profile_rows: pd.DataFrame) -> OccupancyModel:
        """Fit on `rows` (with `actual_rate`); profiles from `profile_rows` (observed zone-hours)."""
        train = rows[rows.actual_rate.notna()]
        if train.empty:
            raise ValueError("no rows with an actual occupancy to fit on")
        self.profiles = zone_profiles(profile_rows)
        self.regressor = HistGradientBoostingRegressor(
            categorical_features=[MODEL_FEATURES.index("zone_type_code")], **self.params)
        self.regressor.fit(self._matrix(train), train.actual_rate.to_numpy() - self._base(train))
        return self

    def point(self, rows: pd.DataFrame) -> np.ndarray:
        if self.regressor is None:
            raise ValueError("the model is not fitted")
        return np.clip(self._base(rows) + self.regressor.predict(self._matrix(rows)), 0.0, 1.0)

    def calibrate(self, horizons: pd.Series, residuals: pd.Series) -> None:
        """Interval offsets per horizon from out-of-sample residuals (actual - predicted)."""
        lo, hi = (1 - self.coverage) / 2, (1 + self.coverage) / 2
        grouped = pd.DataFrame({"h": horizons.to_numpy(), "r": residuals.to_numpy()}).groupby("h").r
        self.intervals = {int(h): (float(q.quantile(lo)), float(q.quantile(hi))) for h, q in grouped}

    def predict_frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        point = self.point(rows)
        lo = rows.horizon.map(lambda h: self.intervals.get(int(h), (0.0, 0.0))[0]).to_numpy(dtype=float)
        hi = rows.horizon.map(lambda h: self.intervals.get(int(h), (0.0, 0.0))[1]).to_numpy(dtype=float)
        return pd.DataFrame({"predicted_rate": point, "lower_rate": np.clip(point + lo, 0.0, 1.0),
                             "upper_rate": np.clip(point + hi, 0.0, 1.0)}, index=rows.index)


class OccupancyForecaster(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc: feature rows in, predicted rate with its interval out."""

    def __init__(self, model: OccupancyModel):
        self.model = model

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.model.predict_frame(model_input.reset_index(drop=True))
