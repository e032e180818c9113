"""How well sessionization recovers the simulator's ground truth (`truth/searches.parquet`).

A found session matches a true search when user and zone agree and the zone-entry times lie within
a second (both come from the same ENTER event; phones may send whole seconds). Reported: the share of
true searches found, the share of found sessions that are real, outcome accuracy (a search still
parked at the end counts as `parked`), the absolute error of `circling_seconds` (all, and per zone
kind: street / gated), departures recovered (a true departure inside the data found within
`DEPARTURE_TOLERANCE_S`) and the total `parked_seconds` against the truth's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

_EPOCH = pd.Timestamp(0, tz="UTC")
ENTRY_TOLERANCE_MS = 1_002  # whole-second timestamps on the wire, plus the truth's float rounding
DEPARTURE_TOLERANCE_S = 60.0


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
    circling_by_kind: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # median, p95, n
    departures_true: int = 0  # true parked searches that departed inside the data, judged
    departures_recovered: float = 1.0  # of those: found with a departure within the tolerance
    departures_unknown: int = 0  # found parked searches closed at the longest stay without a departure
    parked_seconds_ratio: float = 1.0  # found parked_seconds total / true total over the same searches
    misjudged: tuple[int, ...] = ()  # search_id of the judged searches with a wrong (or no) outcome

    def lines(self) -> list[str]:
        wrong = ", ".join(f"{t}->{f} {n}" for (t, f), n in self.confusion.most_common() if t != f) or "none"
        return [
            f"true searches found       {self.found_share:.2%} ({self.true_searches:,} true, "
            f"{self.found_searches:,} found)",
            f"found sessions real       {self.real_share:.2%}",
            f"outcome accuracy          {self.outcome_accuracy:.2%} of {self.evaluated:,} (misclassified: {wrong})",
            f"circling_seconds error    median {self.circling_median_error_s:.2f} s, "
            f"p95 {self.circling_p95_error_s:.2f} s",
            *(f"circling error at {kind:<7}   median {med:.2f} s, p95 {p95:.2f} s over {n:,}"
              for kind, (med, p95, n) in sorted(self.circling_by_kind.items())),
            f"departures recovered      {self.departures_recovered:.2%} of {self.departures_true:,} within "
            f"{DEPARTURE_TOLERANCE_S:.0f} s ({self.departures_unknown:,} closed unknown at the longest stay)",
            f"parked_seconds total      {self.parked_seconds_ratio:.2%} of the truth's",
            f"no_search entries         {self.no_search_found:,} found, {self.no_search_true:,} true",
        ]


def session_accuracy(found: pd.DataFrame, truth: pd.DataFrame, data_end: pd.Timestamp,
                     settle_seconds: float) -> SessionAccuracy:
    """Compare `found` (closed sessions and open ones: `user_id, zone_id, zone_entry_at, outcome, phase,
    circling_seconds`, and optionally `departed_at, parked_seconds, departure_source`) with the true
    searches; outcomes are judged for searches that entered at least `settle_seconds` before
    `data_end` (time for an exit window or silence timeout to close them), departures for true
    departures at least `settle_seconds` before it."""
    found = found.assign(entry_ms=_ms(found["zone_entry_at"])).reset_index(drop=True)
    for column in ("departed_at", "parked_seconds", "departure_source"):
        if column not in found:
            found[column] = None
    found["found_id"] = found.index
    found["outcome"] = found["outcome"].where(found["outcome"].notna(),
                                              found["phase"].map({"parked": "parked"}).fillna("open"))
    truth = truth.assign(entry_ms=_ms(truth["zone_entry_at"])).reset_index(drop=True)
    # Same ENTER event: user and zone equal, entry times within a second (the wire carries whole
    # seconds or milliseconds, truncated; the truth keeps the float seconds it was made from).
    candidates = truth.merge(found[["user_id", "zone_id", "entry_ms", "found_id", "outcome", "circling_seconds",
                                    "departed_at", "parked_seconds", "departure_source"]],
                             on=["user_id", "zone_id"], how="left", suffixes=("_true", "_found"))
    close = (candidates.entry_ms_true - candidates.entry_ms_found).between(-2, ENTRY_TOLERANCE_MS)
    matched = candidates[close].sort_values("entry_ms_found").drop_duplicates("search_id")
    pairs = truth.merge(matched[["search_id", "found_id", "outcome_found", "circling_seconds_found",
                                 "departed_at_found", "parked_seconds_found", "departure_source"]],
                        on="search_id", how="left").rename(columns={"outcome": "outcome_true",
                                                                    "circling_seconds": "circling_seconds_true",
                                                                    "departed_at": "departed_at_true",
                                                                    "parked_seconds": "parked_seconds_true"})
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
    by_kind = {}
    if "zone_type" in both:
        for kind, part in errors.groupby(both.zone_type.map(lambda t: "street" if t == "STREET" else "gated")):
            by_kind[kind] = (float(part.median()), float(part.quantile(0.95)), len(part))
    departed = pairs[pairs.departed_at_true.notna()
                     & (pd.to_datetime(pairs.departed_at_true, utc=True) < cutoff)]
    gap = (pd.to_datetime(departed.departed_at_found, utc=True)
           - pd.to_datetime(departed.departed_at_true, utc=True)).dt.total_seconds().abs()
    true_total = float(departed.parked_seconds_true.sum())
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
        circling_by_kind=by_kind,
        misjudged=tuple(int(i) for i in judged.loc[judged.outcome_true != judged.outcome_found, "search_id"]),
        departures_true=len(departed),
        departures_recovered=float((gap <= DEPARTURE_TOLERANCE_S).mean()) if len(departed) else 1.0,
        departures_unknown=int((found.departure_source == "unknown").sum()),
        parked_seconds_ratio=float(departed.parked_seconds_found.fillna(0).astype(float).sum()) / true_total
        if true_total else 1.0,
    )
