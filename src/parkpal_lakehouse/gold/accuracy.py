"""Gold against the simulator's ground truth: hourly occupancy and circling per zone-hour.

`truth/zone_occupancy_hourly.parquet` has the true time-weighted occupancy (all vehicles, and app
users only); `truth/searches.parquet` the true circling time of every search. Street zones are
compared with the app-only truth (their occupancy comes from app sessions), gated ones with all
vehicles.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

TRUTH_RATE = {"gate": "occupancy_rate", "app_sessions": "app_rate"}


@dataclass(frozen=True)
class GoldAccuracy:
    occupancy_mae: dict[str, float]  # zone type -> mean absolute error of the hourly occupancy rate
    occupancy_hours: dict[str, int]
    circling_mae_seconds: float  # mean |gold avg - true avg| over zone-hours with parked searches
    circling_p95_seconds: float
    circling_zone_hours: int
    circling_zone_hours_exact: float  # share within 1 second
    parked_count_agreement: float  # share of zone-hours whose parked count equals the truth's

    def lines(self) -> list[str]:
        occ = ", ".join(f"{t} {self.occupancy_mae[t]:.4f} ({self.occupancy_hours[t]:,} zone-hours)"
                        for t in sorted(self.occupancy_mae))
        return [f"occupancy rate, mean abs error per zone type: {occ}",
                f"circling avg per zone-hour: mean abs error {self.circling_mae_seconds:.2f}s, p95 "
                f"{self.circling_p95_seconds:.2f}s over {self.circling_zone_hours:,} zone-hours "
                f"({self.circling_zone_hours_exact:.1%} within 1s)",
                f"parked searches per zone-hour equal to truth: {self.parked_count_agreement:.1%}"]


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
    joined["true_rate"] = [r.occupancy_rate_true if r.occupancy_source == "gate" else r.app_rate
                           for r in joined.itertuples()]
    joined["err"] = (joined.occupancy_rate - joined.true_rate).abs()
    by_type = joined.groupby("zone_type").err
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
    )
