"""The parse's columns are built once per driver and rule settings (issue 21) and give the rows a set built
afresh gives, in any frame, on any thread, with each setting taking effect."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from chispa import assert_df_equality
from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.contracts.reference import load_zones, zones_df
from parkpal_lakehouse.silver import parse
from parkpal_lakehouse.silver.parse import parse_columns, parsed_events
from tests.silver.test_rules_agree_with_contract import _bronze_like
from tests.support.bad_inputs import ACTIVITY, ENQUEUED

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def _geofence(latitude_offset: float, event_id: str) -> str:
    zone = load_zones()[0]
    return json.dumps({"userId": 100001, "sessionId": 5, "zoneId": zone.zoneId, "transition": "ENTER",
                       "eventId": event_id, "latitude": zone.latitude + latitude_offset,
                       "longitude": zone.longitude, "timestamp": "2026-11-02T00:00:00Z"})


def _fresh(monkeypatch, bronze, hub: Hub, zones):
    """`parsed_events` with a set of columns built now, not the kept one."""
    with monkeypatch.context() as m:
        m.setattr(parse, "parse_columns", parse._build_parse_columns)
        return parsed_events(bronze, hub, zones)


def test_the_columns_are_built_once_per_hub_and_settings(spark):
    assert parse_columns(Hub.GATE) is parse_columns(Hub.GATE)
    assert parse_columns(Hub.GATE) is not parse_columns(Hub.ACTIVITY)
    assert parse_columns(Hub.GEOFENCE, geofence_tolerance_m=150.0) is not parse_columns(
        Hub.GEOFENCE, geofence_tolerance_m=500.0)
    assert parse_columns(Hub.ACTIVITY, max_future_skew_minutes=5) is not parse_columns(Hub.ACTIVITY)


def test_kept_columns_give_the_rows_of_columns_built_afresh_in_every_frame(spark, monkeypatch):
    """A frame of each hub parsed with the kept columns at once on three threads, and one more frame of a
    hub already parsed, against a set built for each frame on its own."""
    zones = zones_df(spark)
    frames = [
        (Hub.ACTIVITY, [json.dumps(ACTIVITY), json.dumps({**ACTIVITY, "confidence": "high"}), "not json"]),
        (Hub.GEOFENCE, [_geofence(0.05, "g-far"), _geofence(0.0, "g-near")]),
        (Hub.GATE, ['{"eventType":"VEHICLE_ENTRY"}', "", "{}"]),
        (Hub.ACTIVITY, [json.dumps({**ACTIVITY, "eventId": "other", "timestamp": "2026-11-02T09:00:00Z"})]),
    ]
    jobs = [(hub, _bronze_like(spark, lines, hub, ENQUEUED)) for hub, lines in frames]
    with ThreadPoolExecutor(max_workers=3) as pool:
        kept = list(pool.map(lambda job: parsed_events(job[1], job[0], zones).localCheckpoint(), jobs))
    for (hub, bronze), got in zip(jobs, kept, strict=True):
        assert_df_equality(got, _fresh(monkeypatch, bronze, hub, zones), ignore_row_order=True, ignore_nullable=True)
    quarantined = {r.event_id: r.failed_rules for r in kept[1].select(
        F.get_json_object("body", "$.eventId").alias("event_id"), "failed_rules").collect()}
    assert quarantined == {"g-far": ["geo:outside_zone"], "g-near": []}
    assert [r.failed_rules for r in kept[3].collect()] == [["timestamp:future"]]  # 30 minutes ahead of arrival


def test_each_setting_takes_effect_after_another_was_kept(spark):
    far = _bronze_like(spark, [_geofence(0.0025, "g-280m")], Hub.GEOFENCE, NOW)  # ~280 m from the centre
    zones = zones_df(spark)
    rules = [parsed_events(far, Hub.GEOFENCE, zones, geofence_tolerance_m=t).first().failed_rules
             for t in (0.0, 10_000.0, 0.0)]
    assert rules == [["geo:outside_zone"], [], ["geo:outside_zone"]]
    ahead = _bronze_like(spark, [json.dumps({**ACTIVITY, "timestamp": "2026-11-02T12:10:00Z"})], Hub.ACTIVITY, NOW)
    skews = [parsed_events(ahead, Hub.ACTIVITY, zones, max_future_skew_minutes=m).first().failed_rules
             for m in (15, 5, 15)]
    assert skews == [[], ["timestamp:future"], []]
