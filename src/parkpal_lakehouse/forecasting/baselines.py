"""The baselines every model is measured against: seasonal naives, defined only where their
reference reading exists.

- persistence: the reading of the origin hour (undefined when the origin hour had no reading);
- same_hour_yesterday: the reading 24 h before the target hour (undefined when that hour had none);
- same_hour_last_week: the reading 168 h before the target hour (undefined when that hour had none);
- weekday_hour_mean: the zone's mean of the readings at the target's weekday and hour before the
  cutoff (undefined where the zone has no such reading yet).

A baseline is never filled from another one or from a value carried over a gap: where it is
undefined it is NaN, each method is scored on the rows where it is defined (with its `n`), and the
model is compared with each baseline on exactly that baseline's rows (`backtest.py`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASELINES: tuple[str, ...] = ("persistence", "same_hour_yesterday", "same_hour_last_week", "weekday_hour_mean")


def observed_hours(rows: pd.DataFrame) -> pd.DataFrame:
    """Each observed zone-hour once (the horizon-1 row of every target hour with an actual)."""
    once = rows[(rows.horizon == 1) & rows.actual_rate.notna()]
    return once[["zone_id", "target_hour", "day_of_week", "hour_of_day", "is_rest_day", "actual_rate"]]


def weekday_hour_means(history: pd.DataFrame) -> pd.DataFrame:
    """Mean occupancy per zone x weekday x hour of `observed_hours` rows."""
    return (history.groupby(["zone_id", "day_of_week", "hour_of_day"], as_index=False).actual_rate.mean()
            .rename(columns={"actual_rate": "weekday_hour_mean"}))


def _exact(value: pd.Series, age: pd.Series) -> pd.Series:
    """`value` where it was read in its own hour (age 0), NaN where it was carried over a gap."""
    return value.astype("float64").where(age.eq(0), np.nan)


def baseline_predictions(rows: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """One column per baseline, aligned with `rows`; NaN where the baseline is undefined."""
    joined = rows[["zone_id", "day_of_week", "hour_of_day"]].merge(
        means, on=["zone_id", "day_of_week", "hour_of_day"], how="left")
    out = pd.DataFrame(index=rows.index)
    out["persistence"] = _exact(rows.origin_rate, rows.origin_age_hours)
    out["same_hour_yesterday"] = _exact(rows.lag_24h, rows.lag_24h_age_hours).where(rows.horizon <= 24)
    out["same_hour_last_week"] = _exact(rows.lag_168h, rows.lag_168h_age_hours)
    out["weekday_hour_mean"] = joined.weekday_hour_mean.to_numpy(dtype="float64")
    return out
