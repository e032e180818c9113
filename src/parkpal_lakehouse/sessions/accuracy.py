"""How well sessionization recovers the simulator's ground truth (`truth/searches.parquet`).

A found session matches a true search when user, zone and zone-entry time (to the millisecond: both
come from the same ENTER event) agree. Reported: the share of true searches found, the share of found
sessions that are real, outcome accuracy (a search still parked at the end counts as `parked`), and
the absolute error of `circling_seconds`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

_EPOCH = pd.Timestamp(0, tz="UTC")


def _ms(column: pd.Series) -> pd.Series:
    return (pd.to_datetime(column, utc=True) - _EPOCH) // pd.Timedelta(milliseconds=1)


@dataclass(frozen=True)
class SessionAccuracy:
    true_searches: int
    found_searches: int
    found_share: float  # true searches found
    real_share: float  # found searches that are real
    evaluated: int  # true searches that had time to close before the data ended
    outcome_accuracy: float  # of those: found and with the true outcome
    circling_median_error_s: float
    circling_p95_error_s: float
    no_search_true: int
    no_search_found: int
    confusion: Counter = field(default_factory=Counter)  # (true outcome, found outcome or "missing")

    def lines(self) -> list[str]:
        wrong = ", ".join(f"{t}->{f} {n}" for (t, f), n in self.confusion.most_common() if t != f) or "none"
        return [
            f"true searches found       {self.found_share:.2%} ({self.true_searches:,} true, "
            f"{self.found_searches:,} found)",
            f"found sessions real       {self.real_share:.2%}",
            f"outcome accuracy          {self.outcome_accuracy:.2%} of {self.evaluated:,} (misclassified: {wrong})",
            f"circling_seconds error    median {self.circling_median_error_s:.2f} s, "
            f"p95 {self.circling_p95_error_s:.2f} s",
            f"no_search entries         {self.no_search_found:,} found, {self.no_search_true:,} true",
        ]


def session_accuracy(found: pd.DataFrame, truth: pd.DataFrame, data_end: pd.Timestamp,
                     settle_seconds: float) -> SessionAccuracy:
    """Compare `found` (closed sessions and open ones: `user_id, zone_id, zone_entry_at, outcome, phase,
    circling_seconds`) with the true searches; outcomes are judged for searches that entered at least
    `settle_seconds` before `data_end` (time for an exit window or silence timeout to close them)."""
    found = found.assign(entry_ms=_ms(found["zone_entry_at"])).reset_index(drop=True)
    found["found_id"] = found.index
    found["outcome"] = found["outcome"].where(found["outcome"].notna(),
                                              found["phase"].map({"parked": "parked"}).fillna("open"))
    truth = truth.assign(entry_ms=_ms(truth["zone_entry_at"])).reset_index(drop=True)
    # Same ENTER event: user and zone equal, entry times within 2 ms (the wire carries milliseconds,
    # truncated; the truth keeps the float seconds it was made from).
    candidates = truth.merge(found[["user_id", "zone_id", "entry_ms", "found_id", "outcome", "circling_seconds"]],
                             on=["user_id", "zone_id"], how="left", suffixes=("_true", "_found"))
    close = (candidates.entry_ms_true - candidates.entry_ms_found).abs() <= 2
    matched = candidates[close]
    pairs = truth.merge(matched[["search_id", "found_id", "outcome_found", "circling_seconds_found"]],
                        on="search_id", how="left").rename(columns={"outcome": "outcome_true",
                                                                    "circling_seconds": "circling_seconds_true"})
    searches = pairs[pairs.outcome_true != "no_search"]
    found_searches = found[found.outcome != "no_search"]
    real = found_searches[found_searches.found_id.isin(
        pairs.loc[pairs.outcome_true != "no_search", "found_id"].dropna())]
    cutoff = pd.Timestamp(data_end) - pd.Timedelta(seconds=settle_seconds)
    judged = pairs[pd.to_datetime(pairs["zone_entry_at"], utc=True) < cutoff]
    confusion = Counter(zip(judged.outcome_true, judged.outcome_found.fillna("missing"), strict=True))
    both = pairs[(pairs.outcome_true == pairs.outcome_found) & pairs.circling_seconds_true.notna()
                 & pairs.circling_seconds_found.notna()]
    errors = (both.circling_seconds_true - both.circling_seconds_found).abs()
    return SessionAccuracy(
        true_searches=len(searches),
        found_searches=len(found_searches),
        found_share=float(searches.outcome_found.notna().mean()) if len(searches) else 1.0,
        real_share=len(real) / len(found_searches) if len(found_searches) else 1.0,
        evaluated=len(judged),
        outcome_accuracy=float((judged.outcome_true == judged.outcome_found).mean()) if len(judged) else 1.0,
        circling_median_error_s=float(errors.median()) if len(errors) else 0.0,
        circling_p95_error_s=float(errors.quantile(0.95)) if len(errors) else 0.0,
        no_search_true=int((truth.outcome == "no_search").sum()),
        no_search_found=int((found.outcome == "no_search").sum()),
        confusion=confusion,
    )
