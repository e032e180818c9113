"""Gate visits and the fact tables, on hand-made silver rows."""

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from parkpal_lakehouse.gold.facts import fact_gate_sessions, fact_parking_sessions, gate_visits
from parkpal_lakehouse.gold.metrics import gate_metrics

GATE_DDL = ("event_type STRING, event_id STRING, zone_id BIGINT, license_plate STRING, vehicle_type STRING, "
            "entry_event_id STRING, transaction_id STRING, amount DOUBLE, currency STRING, payment_method STRING, "
            "payment_status STRING, event_time TIMESTAMP")
KEY = "test-key"


def keyed(message: str) -> str:
    return hmac.new(KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def t(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 2, hh, mm, tzinfo=UTC)


def entry(eid, plate, at, zone=7):
    return ("VEHICLE_ENTRY", eid, zone, plate, "CAR", None, None, None, None, None, None, at)


def exit_(eid, entry_id, plate, at, zone=7):
    return ("VEHICLE_EXIT", eid, zone, plate, "CAR", entry_id, None, None, None, None, None, at)


def pay(eid, plate, at, amount, status="COMPLETED", txn=None, method="CASH", zone=7):
    return ("PAYMENT", eid, zone, plate, None, None, txn or f"T-{eid}", amount, "PHP", method, status, at)


@pytest.fixture
def gate_events(spark):
    rows = [
        # a complete visit, paid, then refunded an hour after leaving
        entry("e1", "ABC 123", t(8)), pay("p1", "ABC 123", t(9, 55), 80.0, txn="T1"),
        exit_("x1", "e1", "ABC 123", t(10)),
        pay("r1", "ABC 123", t(10, 55), 80.0, status="REFUNDED", txn="T1"),
        # a second visit of the same plate later: its payment must not go to the first visit
        entry("e2", "ABC 123", t(12)), pay("p2", "ABC 123", t(13, 1), 40.0, method="MOBILE_PAYMENT"),
        exit_("x2", "e2", "ABC 123", t(13, 2)),
        # a failed payment, then a successful one
        entry("e3", "XYZ 999", t(8, 30)), pay("p3", "XYZ 999", t(9), 40.0, status="FAILED"),
        pay("p4", "XYZ 999", t(9, 1), 40.0, method="CREDIT_CARD"), exit_("x3", "e3", "XYZ 999", t(9, 5)),
        # still inside (no exit yet), and an exit whose entry was never read
        entry("e4", "NEW 111", t(11)), exit_("x5", "e-lost", "OLD 222", t(9, 30)),
    ]
    return spark.createDataFrame(rows, GATE_DDL)


def by_id(df):
    return {r.visit_id: r for r in df.collect()}


def test_visits_match_exits_payments_and_refunds(gate_events):
    visits = by_id(gate_visits(gate_events, max_stay_hours=24))
    assert set(visits) == {"e1", "e2", "e3", "e4", "x5"}
    first, second, failed_then_paid = visits["e1"], visits["e2"], visits["e3"]
    assert (first.amount_paid, first.amount_refunded, first.payment_status, first.visit_status) == \
        (80.0, 80.0, "REFUNDED", "complete")
    assert set(first.event_ids) == {"e1", "x1", "p1", "r1"}
    assert (second.amount_paid, second.payment_method, second.payments) == (40.0, "MOBILE_PAYMENT", 1)
    assert (failed_then_paid.payments, failed_then_paid.amount_paid, failed_then_paid.payment_status,
            failed_then_paid.payment_method) == (2, 40.0, "COMPLETED", "CREDIT_CARD")
    assert visits["e4"].visit_status == "inside" and visits["e4"].exit_at is None
    assert visits["x5"].visit_status == "entry_missing" and visits["x5"].entry_at is None


def test_gate_facts_flag_overdue_exits_and_hide_plates(gate_events):
    visits = gate_visits(gate_events, max_stay_hours=2)
    horizon_ms = int(t(14).timestamp() * 1000)  # e4 entered at 11:00: over 2 h before the horizon
    facts = fact_gate_sessions(visits, KEY, "Asia/Manila", horizon_ms, max_stay_hours=2)
    # The visit id leaves silver as HMAC(key, "visit|<entry event id>"), like every other identifier.
    hashed = by_id(facts)
    rows = {e: hashed[keyed(f"visit|{e}")] for e in ("e1", "e2", "e3", "e4", "x5")}
    assert rows["e4"].visit_status == "exit_missing"
    assert rows["e1"].duration_minutes == 120.0 and rows["e1"].net_amount == 0.0
    assert rows["e1"].date_key == 20261102 and rows["e1"].hour_key == 16  # 08:00 UTC is 16:00 in Manila
    assert "license_plate" not in facts.columns
    plates = {r.plate_key for r in rows.values()}
    assert len(plates) == 4 and all(len(p) == 64 and "ABC" not in p for p in plates)
    assert rows["e1"].plate_key == rows["e2"].plate_key  # same vehicle, same key


def test_hourly_revenue_is_completed_minus_refunded_at_their_hours(gate_events):
    metrics = {r.hour_start.hour: r for r in gate_metrics(gate_events).filter("zone_id = 7").collect()}
    assert metrics[9].revenue == 120.0 and metrics[9].payments_completed == 2  # p1 80 + p4 40 (p3 failed)
    assert metrics[10].revenue == -80.0 and metrics[10].refunds == 1
    assert metrics[13].revenue == 40.0
    assert metrics[8].gate_entries == 2 and metrics[9].gate_exits == 2


def test_session_facts_carry_a_keyed_user_hash_not_the_id(spark):
    sessions = spark.createDataFrame(
        [("s1", 42, 7, t(23, 30), t(23, 30), t(23, 33), t(23, 34), None, t(23, 40), 180.0, None, "parked", False,
          "activity", None, "stream")],
        "session_id STRING, user_id BIGINT, zone_id BIGINT, zone_entry_at TIMESTAMP, circling_start TIMESTAMP, "
        "parked_at TIMESTAMP, confirmed_at TIMESTAMP, departed_at TIMESTAMP, closed_at TIMESTAMP, "
        "circling_seconds DOUBLE, parked_seconds DOUBLE, outcome STRING, circling_is_estimate BOOLEAN, "
        "confirmation STRING, departure_source STRING, written_by STRING")
    fact = fact_parking_sessions(sessions, KEY, "Asia/Manila")
    row = fact.first()
    assert "user_id" not in fact.columns and row.user_key == keyed("user|42")
    assert row.session_id == keyed("session|s1")
    assert fact_parking_sessions(sessions, "another-key", "Asia/Manila").first().user_key != row.user_key
    # 23:30 UTC on 2 Nov is 07:30 on 3 Nov in Manila
    assert (row.date_key, row.hour_key, str(row.entry_date)) == (20261103, 7, "2026-11-03")
