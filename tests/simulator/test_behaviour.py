"""Driver behaviour follows the product's traffic patterns."""

import random

from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.simulator.world import circling_seconds, stay_seconds


def test_stay_lengths_follow_the_10_60_30_split():
    rng = random.Random(1)
    stays = [stay_seconds(rng) / 60 for _ in range(20_000)]
    short = sum(5 <= s <= 15 for s in stays) / len(stays)
    medium = sum(60 <= s <= 180 for s in stays) / len(stays)
    long = sum(480 <= s <= 600 for s in stays) / len(stays)
    assert abs(short - 0.10) < 0.01 and abs(medium - 0.60) < 0.015 and abs(long - 0.30) < 0.015


def test_circling_grows_in_nearly_full_zones():
    rng = random.Random(2)
    quiet = sorted(circling_seconds(rng, 0.3, gated=False) for _ in range(2000))
    full = sorted(circling_seconds(rng, 0.98, gated=False) for _ in range(2000))
    assert 30 <= quiet[1000] <= 120
    assert full[1000] > 3 * quiet[1000]


def test_about_85_percent_of_gated_visits_pay(small_city):
    gate = small_city.landed.valid[Hub.GATE]
    exits = sum(g["eventType"] == "VEHICLE_EXIT" for g in gate)
    paid = sum(g["eventType"] == "PAYMENT" and g["paymentStatus"] == "COMPLETED" for g in gate)
    assert exits > 200
    assert abs(paid / exits - 0.85) < 0.04


def test_payments_charge_the_zone_tariff_per_started_hour(small_city):
    from parkpal_lakehouse.contracts.reference import load_zones

    rates = {z.zoneId: z.hourlyRate for z in load_zones(small_city.root / "reference" / "zones.csv")}
    for g in small_city.landed.valid[Hub.GATE]:
        if g["eventType"] == "PAYMENT":
            hours = -(-g["parkingDurationMinutes"] // 60)
            assert g["amount"] == hours * rates[g["zoneId"]]
