"""`zone_metrics_hourly` on hand-made inputs: one zone-hour of each zone type, every column by hand.

The hour is 2026-11-02 00:00 UTC = Monday 08:00 in Manila (date_key 20261102, hour_key 8, hour of the
week 8). LOT 1 and GARAGE 3 are gated (occupancy from gate stays); STREET 2 has app stays only, scaled
by an app penetration of 25% with no spread.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from statistics import NormalDist

from chispa import assert_approx_df_equality

from parkpal_lakehouse.gold.metrics import HourlyInputs, zone_metrics_hourly
from parkpal_lakehouse.gold.schemas import ZONE_METRICS_HOURLY_DDL

H = datetime(2026, 11, 2, 0, 0)
TZ = "Asia/Manila"


def at(minutes: float) -> datetime:
    return H + timedelta(minutes=minutes)


def inputs(spark) -> HourlyInputs:
    def frame(rows, ddl):
        return spark.createDataFrame(rows, ddl)

    gate_ddl = "zone_id BIGINT, event_time TIMESTAMP, event_type STRING, payment_status STRING, amount DOUBLE"
    gate_events = frame([
        (1, at(1), "VEHICLE_ENTRY", None, None), (1, at(30), "PAYMENT", "COMPLETED", 50.0),
        (1, at(40), "PAYMENT", "REFUNDED", 20.0), (1, at(45), "VEHICLE_EXIT", None, None),
        (3, at(10), "PAYMENT", "COMPLETED", 100.0),
        (1, at(65), "PAYMENT", "COMPLETED", 999.0),  # the next hour: not this one's revenue
    ], gate_ddl)
    return HourlyInputs(
        zone_hours=frame([(1, H, "LOT", "OpA", "Makati", 10, True), (2, H, "STREET", "City", "Makati", 20, False),
                          (3, H, "GARAGE", "OpB", "Makati", 4, True)],
                         "zone_id BIGINT, hour_start TIMESTAMP, zone_type STRING, operator STRING, city STRING, "
                         "capacity INT, is_gated BOOLEAN"),
        searches=frame([("s1", 1, at(5), "parked", 60.0), ("s2", 1, at(10), "parked", 180.0),
                        ("s3", 1, at(20), "abandoned", 300.0), ("s4", 2, at(30), "parked", 120.0),
                        ("s5", 2, at(35), "timed_out", None), ("s6", 2, at(50), "no_search", None),
                        ("s7", 2, at(-5), "parked", 999.0)],  # entered the hour before: not this hour's
                       "session_id STRING, zone_id BIGINT, zone_entry_at TIMESTAMP, outcome STRING, "
                       "circling_seconds DOUBLE"),
        sessions=frame([], "session_id STRING"),
        gate_events=gate_events,
        gate_visits=frame([], "visit_id STRING"),
        gate_stays=frame([(1, at(-60), at(30)), (1, at(15), at(120)), (3, at(-300), at(300))],
                         "zone_id BIGINT, start_at TIMESTAMP, end_at TIMESTAMP"),
        session_stays=frame([(2, at(0), at(60), False), (2, at(30), at(180), True)],
                            "zone_id BIGINT, start_at TIMESTAMP, end_at TIMESTAMP, open_ended BOOLEAN"),
        penetration=frame([(date(2026, 11, 2), "Makati", 8, 0.25, 0.0)],
                          "calib_date DATE, city STRING, hour_of_week INT, app_penetration DOUBLE, "
                          "penetration_sd DOUBLE"),
        zone_events=frame([(1, at(m)) for m in (1, 30, 40, 45)] + [(3, at(10))] + [(2, at(m)) for m in (29, 31, 58)],
                          "zone_id BIGINT, event_time TIMESTAMP"),
        quarantined=frame([(2, at(33))], "zone_id BIGINT, event_time TIMESTAMP"),
    )


def _street_bound(app: float, p: float, upper: bool, interval: float = 0.8) -> float:
    """The documented Wilson-type bound of the vehicles behind `app` app users at penetration `p`."""
    z = NormalDist().inv_cdf(0.5 + interval / 2)
    c = (p * (1 - p)) ** 0.5
    root = (z * z * c * c + 4 * p * app) ** 0.5
    return max(((z * c if upper else -z * c) + root) / (2 * p), 0.0) ** 2


def test_one_zone_hour_of_each_zone_type(spark):
    actual = zone_metrics_hourly(inputs(spark), TZ).orderBy("zone_id")
    low, high = _street_bound(1.5, 0.25, upper=False), _street_bound(1.5, 0.25, upper=True)
    day = date(2026, 11, 2)
    expected = spark.createDataFrame([
        # LOT: 3 searches (2 parked at 60 s and 180 s, 1 abandoned); stays of 30 + 45 minutes, 2 at once
        # from :15 to :30; payments 50 completed, 20 refunded; 4 events, none quarantined.
        (1, H, 20261102, 8, "LOT", "OpA", 10, 3, 2, 1, 0, 0, 120.0, 60.0, 180.0, 120.0, 168.0, 1.25, 2, 0.125, 0.2,
         "gate", 0.125, 0.125, 0.0, None, 0, 30.0, 1, 1, 1, 1, 4, 0, 1.0, day),
        # STREET: 2 searches (1 parked at 120 s, 1 timed out; a no_search is not one); app stays of the whole
        # hour and its second half (1.5 on average, 2 at once), one of them open-ended; / 25% penetration.
        (2, H, 20261102, 8, "STREET", "City", 20, 2, 1, 0, 1, 1, 120.0, 120.0, 120.0, 120.0, 120.0, 6.0, 8, 0.3,
         0.4, "app_scaled_estimate", low / 20, high / 20, 1.5, 0.25, 1, 0.0, 0, 0, 0, 0, 3, 1, 0.75, day),
        # GARAGE: no searches (circling unknown, not 0); one car all hour; a payment of 100; 1 event.
        (3, H, 20261102, 8, "GARAGE", "OpB", 4, 0, 0, 0, 0, 0, None, None, None, None, None, 1.0, 1, 0.25, 0.25,
         "gate", 0.25, 0.25, 0.0, None, 0, 100.0, 1, 0, 0, 0, 1, 0, 1.0, day),
    ], ZONE_METRICS_HOURLY_DDL)
    assert_approx_df_equality(actual, expected, precision=1e-9, ignore_nullable=True)
