"""Gold against the simulator's ground truth: hourly occupancy and circling per zone-hour.

`truth/zone_occupancy_hourly.parquet` has the true time-weighted occupancy (all vehicles, and app
users only); `truth/searches.parquet` the true circling time of every search. Per zone type, what is
measured is compared with what it measures: gated zones' gate occupancy with all vehicles, street
zones' app-measured occupancy (`app_occupied_avg`) with the app users' truth. The street all-driver
estimate (`occupancy_rate`, `app_scaled_estimate`) is compared with all vehicles, with the coverage
of its interval, next to what reading the app-only count as the street's would get wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class GoldAccuracy:
    occupancy_mae: dict[str, float]  # zone type -> mean absolute error of the hourly occupancy rate
    occupancy_hours: dict[str, int]
    circling_mae_seconds: float  # mean |gold avg - true avg| over zone-hours with parked searches
    circling_p95_seconds: float
    circling_zone_hours: int
    circling_zone_hours_exact: float  # share within 1 second
    parked_count_agreement: float  # share of zone-hours whose parked count equals the truth's
    street_estimate_mae: float = float("nan")  # all-driver estimate vs all vehicles
    street_estimate_coverage: float = float("nan")  # truth inside [occupancy_rate_low, occupancy_rate_high]
    street_app_only_mae: float = float("nan")  # the app-only rate read as the street's, vs all vehicles
    street_estimate_hours: int = 0
    # The floor for an estimate that scales the app count: the same scaling by the true share of app users
    # among the street vehicles of these zone-hours (one figure, which no pipeline knows); what remains
    # is the sampling of app users among a street's few vehicles. The gap to it is the estimator's own.
    street_oracle_mae: float = float("nan")

    def lines(self) -> list[str]:
        occ = ", ".join(f"{t} {self.occupancy_mae[t]:.4f} ({self.occupancy_hours[t]:,} zone-hours)"
                        for t in sorted(self.occupancy_mae))
        return [f"occupancy rate, mean abs error per zone type: {occ}",
                f"circling avg per zone-hour: mean abs error {self.circling_mae_seconds:.2f}s, p95 "
                f"{self.circling_p95_seconds:.2f}s over {self.circling_zone_hours:,} zone-hours "
                f"({self.circling_zone_hours_exact:.1%} within 1s)",
                f"parked searches per zone-hour equal to truth: {self.parked_count_agreement:.1%}",
                f"street all-driver estimate: mean abs error {self.street_estimate_mae:.4f} over "
                f"{self.street_estimate_hours:,} zone-hours, interval covers {self.street_estimate_coverage:.1%} "
                f"(app-only count read as the street's: {self.street_app_only_mae:.4f}; scaled by the true share "
                f"of app users, which no pipeline knows: {self.street_oracle_mae:.4f})"]


def gold_accuracy(metrics: pd.DataFrame, true_occupancy: pd.DataFrame, true_searches: pd.DataFrame,
                  settled_before: pd.Timestamp) -> GoldAccuracy:
    """`metrics`: gold.zone_metrics_hourly rows (pandas). Hours at or after `settled_before` are left
    out (the end of the simulated window, where searches are still running)."""
    m = metrics.assign(hour_start=pd.to_datetime(metrics.hour_start, utc=True))
    m = m[m.hour_start < settled_before]
    occ = true_occupancy.assign(hour_start=pd.to_datetime(true_occupancy.hour_start, utc=True),
                                app_rate=true_occupancy.app_occupied_avg / true_occupancy.capacity)
    joined = m.merge(occ[["zone_id", "hour_start", "occupancy_rate", "app_rate"]], on=["zone_id", "hour_start"],
                     suffixes=("", "_true"))
    gated = joined.occupancy_source == "gate"
    measured = joined.occupancy_rate.where(gated, joined.app_occupied_avg / joined.capacity)
    joined["err"] = (measured - joined.occupancy_rate_true.where(gated, joined.app_rate)).abs()
    by_type = joined.groupby("zone_type").err
    street = joined[joined.occupancy_source == "app_scaled_estimate"]
    truth_all = street.occupancy_rate_true
    inside = (street.occupancy_rate_low - 1e-9 <= truth_all) & (truth_all <= street.occupancy_rate_high + 1e-9)
    true_share = street.app_rate.sum() / street.occupancy_rate_true.sum() if len(street) else float("nan")
    oracle = (street.app_occupied_avg / street.capacity / true_share).clip(upper=1.0)
    parked = true_searches[true_searches.outcome == "parked"].assign(
        hour_start=lambda d: pd.to_datetime(d.zone_entry_at, utc=True).dt.floor("h"))
    truth_circ = parked.groupby(["zone_id", "hour_start"]).agg(true_avg=("circling_seconds", "mean"),
                                                               true_parked=("circling_seconds", "size")).reset_index()
    c = m.merge(truth_circ, on=["zone_id", "hour_start"], how="left")
    c["true_parked"] = c.true_parked.fillna(0)
    both = c.dropna(subset=["circling_seconds_avg", "true_avg"])
    err = (both.circling_seconds_avg - both.true_avg).abs()
    return GoldAccuracy(
        occupancy_mae=by_type.mean().to_dict(), occupancy_hours=by_type.size().to_dict(),
        circling_mae_seconds=float(err.mean()) if len(err) else float("nan"),
        circling_p95_seconds=float(err.quantile(0.95)) if len(err) else float("nan"),
        circling_zone_hours=len(both), circling_zone_hours_exact=float((err < 1).mean()) if len(err) else 0.0,
        parked_count_agreement=float((c.parked == c.true_parked).mean()) if len(c) else 0.0,
        street_estimate_mae=float((street.occupancy_rate - truth_all).abs().mean()) if len(street) else float("nan"),
        street_estimate_coverage=float(inside.mean()) if len(street) else float("nan"),
        street_app_only_mae=float((street.app_occupied_avg / street.capacity - truth_all).abs().mean())
        if len(street) else float("nan"),
        street_estimate_hours=len(street),
        street_oracle_mae=float((oracle - truth_all).abs().mean()) if len(street) else float("nan"),
    )
