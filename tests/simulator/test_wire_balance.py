"""What lands equals what the manifest says was sent: the balance later stages must preserve."""

from collections import Counter

from parkpal_lakehouse.contracts.events import Hub


def test_every_landing_line_is_accounted_for_per_hub(small_city):
    wire, landed = small_city.manifest["wire"], small_city.landed
    for hub in Hub:
        w = wire[hub.value]
        assert len(landed.valid[hub]) == w["events"] > 0, hub
        assert landed.duplicates[hub] == w["duplicates"], hub
        assert landed.malformed[hub] == w["malformed"], hub
        assert landed.invalid[hub] == w["invalid"], hub
        lines = sum(len(p.read_text().splitlines()) for p in (small_city.root / "landing" / hub.value).rglob("*.jsonl"))
        assert lines == w["received"], hub


def test_each_invalid_record_breaks_exactly_its_recorded_rule(small_city):
    assert small_city.landed.invalid_rules == Counter(small_city.manifest["wire"]["invalid_rules"])
    assert sum(small_city.landed.invalid_rules.values()) == sum(small_city.landed.invalid.values()) > 0


def test_noise_is_on_by_default(small_city):
    wire = small_city.manifest["wire"]
    assert all(wire[h.value]["duplicates"] > 0 for h in (Hub.ACTIVITY, Hub.GATE))
    assert wire[Hub.ACTIVITY.value]["late"] > 0 and wire[Hub.ACTIVITY.value]["malformed"] > 0


def test_arrival_order_differs_from_event_order(small_city):
    """Within a file lines are in arrival order; network delay and late events reorder event time."""
    times = [e["_ts"] for e in small_city.landed.valid[Hub.ACTIVITY]]
    inversions = sum(1 for a, b in zip(times, times[1:], strict=False) if b < a)
    assert inversions > 0.01 * len(times)
