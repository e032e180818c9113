import hashlib

import pandas as pd
import pytest

from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import NoiseSettings, SimulationSettings

TINY = SimulationSettings(seed=11, zones=4, users=120, days=1)


def _landing_digest(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "landing").rglob("*.jsonl"))}


def test_same_seed_gives_identical_events_and_truth(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    simulate(TINY, a)
    simulate(TINY, b)
    assert _landing_digest(a) == _landing_digest(b) and _landing_digest(a)
    pd.testing.assert_frame_equal(pd.read_parquet(a / "truth/searches.parquet"),
                                  pd.read_parquet(b / "truth/searches.parquet"))
    assert (a / "reference/zones.csv").read_bytes() == (b / "reference/zones.csv").read_bytes()


def test_another_seed_gives_another_city(tmp_path):
    simulate(TINY, tmp_path / "a")
    simulate(SimulationSettings(seed=12, zones=4, users=120), tmp_path / "b")
    assert _landing_digest(tmp_path / "a") != _landing_digest(tmp_path / "b")


def test_switching_noise_off_keeps_who_parks_where(tmp_path):
    simulate(TINY, tmp_path / "noisy")
    simulate(SimulationSettings(seed=11, zones=4, users=120, noise=NoiseSettings.off()), tmp_path / "clean")
    noisy = pd.read_parquet(tmp_path / "noisy/truth/searches.parquet")
    clean = pd.read_parquet(tmp_path / "clean/truth/searches.parquet")
    pd.testing.assert_series_equal(noisy.zone_entry_at, clean.zone_entry_at)
    pd.testing.assert_series_equal(noisy.outcome, clean.outcome)


def test_a_root_with_a_city_is_not_overwritten(tmp_path):
    simulate(TINY, tmp_path)
    before = (tmp_path / "truth/manifest.json").read_text()
    with pytest.raises(ConfigError, match="already holds a simulated city"):
        simulate(TINY, tmp_path)
    assert (tmp_path / "truth/manifest.json").read_text() == before


def test_truth_times_keep_missing_moments_as_nat_without_float_noise():
    """Searches that never parked have no parked_at: NaT, never a failure or a made-up time (pandas 2.3
    converts float seconds with NaN through uninitialised memory under np.errstate(over="raise"))."""
    import numpy as np

    from parkpal_lakehouse.simulator.truth import TrueSearch, searches_frame

    t0 = 1_793_750_400.123456  # 2026-11-04T00:00:00.123456Z
    parked = TrueSearch(1, 100001, 1, 3, "LOT", t0, t0 + 5, t0 + 65.5, t0 + 70, t0 + 3600, 60.5, 3530.0,
                        "parked", "activity")
    abandoned = TrueSearch(2, 100002, 2, 3, "LOT", t0, t0 + 2, None, None, None, None, None, "abandoned", None)
    with np.errstate(all="raise"):
        frame = searches_frame([parked, abandoned] * 500)
    assert str(frame["parked_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["parked_at"].isna().sum() == 500 and frame["departed_at"].isna().sum() == 500
    us = pd.Timedelta("1us")  # float seconds: exact to well under a microsecond
    assert abs(frame["parked_at"].iloc[0] - pd.Timestamp("2026-11-04T00:01:05.623456", tz="UTC")) < us
    assert ((frame["zone_entry_at"] - pd.Timestamp("2026-11-04T00:00:00.123456", tz="UTC")).abs() < us).all()
