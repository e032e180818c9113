"""Spark's silver rules and the Python contract validator give the same verdict on every landed line."""

import json
from datetime import UTC, datetime

from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import Hub, contract_violations
from parkpal_lakehouse.contracts.reference import load_zones, zones_df
from parkpal_lakehouse.silver.parse import parsed_events


def _bronze_like(spark, lines: list[str], hub: Hub, enqueued: datetime):
    rows = [(f"r{i}", hub.value, body, "landing", None, None, None, None, enqueued, enqueued, enqueued)
            for i, body in enumerate(lines)]
    return spark.createDataFrame(rows, "record_id STRING, hub STRING, body STRING, source STRING, source_file STRING, "
                                       "kafka_topic STRING, kafka_partition INT, kafka_offset BIGINT, "
                                       "enqueued_at TIMESTAMP, received_at TIMESTAMP, ingested_at TIMESTAMP")


def _bronze_from_files(spark, folder, hub: Hub, enqueued: datetime):
    lines = spark.read.option("recursiveFileLookup", "true").text(str(folder))
    return lines.select(
        F.expr("uuid()").alias("record_id"), F.lit(hub.value).alias("hub"), F.col("value").alias("body"),
        *[F.lit(None).cast(t).alias(c) for c, t in (("source", "string"), ("source_file", "string"),
                                                    ("kafka_topic", "string"), ("kafka_partition", "int"),
                                                    ("kafka_offset", "bigint"))],
        *[F.lit(enqueued).alias(c) for c in ("enqueued_at", "received_at", "ingested_at")],
    )


def test_every_line_of_a_simulated_city_gets_the_same_verdict(spark, small_city):
    zones_csv = small_city.root / "reference" / "zones.csv"
    zone_ids = frozenset(z.zoneId for z in load_zones(zones_csv))
    end = datetime.fromtimestamp(small_city.manifest["window_end"], UTC)
    for hub in Hub:
        lines = [ln for p in sorted((small_city.root / "landing" / hub.value).rglob("*.jsonl"))
                 for ln in p.read_text().splitlines()]
        bronze = _bronze_from_files(spark, small_city.root / "landing" / hub.value, hub, end)
        parsed = parsed_events(bronze, hub, zones_df(spark, zones_csv))
        spark_verdicts = {r.body: sorted(r.failed_rules) for r in parsed.select("body", "failed_rules").collect()}
        disagreements = []
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            expected = (sorted(contract_violations(hub, event, now=end, zone_ids=zone_ids))
                        if isinstance(event, dict) else ["malformed:json"])
            if spark_verdicts[line] != expected:
                disagreements.append((line, spark_verdicts[line], expected))
        assert not disagreements, disagreements[:5]
        assert sum(1 for v in spark_verdicts.values() if v) > 0 or hub is Hub.GEOFENCE


def test_contract_examples_get_the_same_verdict(spark):
    from importlib import resources

    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    zone_ids = frozenset(z.zoneId for z in load_zones())
    for hub in Hub:
        doc = json.loads(resources.files("parkpal_lakehouse.contracts").joinpath("examples", f"{hub.value}.json")
                         .read_text())
        events = doc["valid"] + [c["event"] for c in doc["invalid"]]
        bodies = [json.dumps(e) for e in events]
        parsed = parsed_events(_bronze_like(spark, bodies, hub, now), hub, zones_df(spark))
        got = {r.body: sorted(r.failed_rules) for r in parsed.collect()}
        for body, event in zip(bodies, events, strict=True):
            assert got[body] == sorted(contract_violations(hub, event, now=now, zone_ids=zone_ids)), body


def test_event_time_is_utc_whatever_offset_was_sent(spark):
    bodies = ['{"eventType":"PAYMENT","eventId":"p","timestamp":"2026-11-02T08:15:00.250+08:00","zoneId":1,'
              '"transactionId":"t","licensePlate":"ABC 1234","amount":40,"currency":"PHP",'
              '"paymentMethod":"CASH","paymentStatus":"COMPLETED","parkingDurationMinutes":30}']
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    row = parsed_events(_bronze_like(spark, bodies, Hub.GATE, now), Hub.GATE, zones_df(spark)).first()
    assert row.failed_rules == []
    assert row.event_time.replace(tzinfo=None) == datetime(2026, 11, 2, 0, 15, 0, 250000)
    assert row.amount == 40.0 and row.parking_duration_minutes == 30


def test_geofence_far_outside_its_zone_is_quarantined_and_dedupe_keys_follow_the_contract(spark):
    zone = load_zones()[0]
    near = {"userId": 100001, "sessionId": 5, "zoneId": zone.zoneId, "transition": "ENTER",
            "latitude": zone.latitude, "longitude": zone.longitude, "timestamp": "2026-11-02T00:00:00Z"}
    far = {**near, "latitude": zone.latitude + 0.05, "eventId": "geo-far"}
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    rows = parsed_events(_bronze_like(spark, [json.dumps(near), json.dumps(far)], Hub.GEOFENCE, now),
                         Hub.GEOFENCE, zones_df(spark)).orderBy(F.col("event_id").asc_nulls_first()).collect()
    assert rows[0].failed_rules == [] and rows[0].dedupe_key.startswith("key:100001|5|")
    assert rows[1].failed_rules == ["geo:outside_zone"] and rows[1].dedupe_key == "record:r1"


def test_a_position_off_the_globe_breaks_its_range_rule_only(spark):
    """Found by the simulated city: longitude -200 also read as 'outside the zone' in Spark, not in the contract."""
    zone = load_zones()[0]
    event = {"userId": 100001, "sessionId": 5, "zoneId": zone.zoneId, "transition": "EXIT", "eventId": "geo-off",
             "latitude": zone.latitude, "longitude": -200.0, "timestamp": "2026-11-02T00:00:00Z"}
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    row = parsed_events(_bronze_like(spark, [json.dumps(event)], Hub.GEOFENCE, now), Hub.GEOFENCE,
                        zones_df(spark)).first()
    assert row.failed_rules == ["range:longitude"] == contract_violations(Hub.GEOFENCE, event, now=now)
