"""The baselines every model is measured against, on the same (zone, origin, horizon) rows.

- persistence: the last observed hour (`origin_rate`);
- same_hour_yesterday: `lag_24h`;
- same_hour_last_week: `lag_168h`;
- weekday_hour_mean: the zone's mean for the target's weekday and hour over the history before the
  cutoff (where a zone has no such hour yet: persistence).
"""

from __future__ import annotations

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


def baseline_predictions(rows: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """One column per baseline, aligned with `rows`."""
    joined = rows[["zone_id", "day_of_week", "hour_of_day"]].merge(
        means, on=["zone_id", "day_of_week", "hour_of_day"], how="left")
    out = pd.DataFrame(index=rows.index)
    out["persistence"] = rows.origin_rate
    out["same_hour_yesterday"] = rows.lag_24h.where(rows.horizon <= 24)
    out["same_hour_last_week"] = rows.lag_168h
    out["weekday_hour_mean"] = joined.weekday_hour_mean.to_numpy()
    return out.apply(lambda col: col.fillna(rows.origin_rate))
