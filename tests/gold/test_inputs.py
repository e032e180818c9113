"""What the hourly job reads: the sessions a street count can need, one row per gate event."""

from datetime import date, datetime, timedelta

from chispa import assert_df_equality

from parkpal_lakehouse.gold.inputs import covering_dates, one_per_event


def test_a_count_reads_the_sessions_of_its_date_and_of_the_dates_its_longest_stay_reaches_back_to():
    # A stay covering an instant of 2 Nov began at most 25 h before it: from 31 Oct 23:00 UTC at the earliest.
    assert covering_dates([date(2026, 11, 2)], timedelta(hours=25)) == [
        date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)]
    assert covering_dates([date(2026, 11, 2)], timedelta(hours=24)) == [date(2026, 11, 1), date(2026, 11, 2)]
    # Two survey days a week apart: their own reaches, not the week between.
    assert covering_dates([date(2026, 11, 9), date(2026, 11, 2)], timedelta(hours=2)) == [
        date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 8), date(2026, 11, 9)]
    assert covering_dates([], timedelta(hours=25)) == []


def test_one_row_per_gate_event_whole_and_the_same_whatever_the_order_it_is_read_in(spark):
    """A gate event silver holds twice (sent again with another time, so on another event date) counts once: one
    of its copies, whole (not columns of both), the same copy however the rows arrive; other events untouched."""
    rows = [("r1", "e1", "PAYMENT", 1, datetime(2026, 11, 2, 8, 5), 50.0),
            ("r2", "e1", "PAYMENT", 1, datetime(2026, 11, 3, 8, 5), 70.0),  # the same id, sent again a day later
            ("r3", "e1", "PAYMENT", 1, datetime(2026, 11, 4, 9, 0), 90.0),
            ("r4", "e2", "VEHICLE_ENTRY", 2, datetime(2026, 11, 2, 7, 0), None),
            ("r5", None, "VEHICLE_EXIT", 2, datetime(2026, 11, 2, 9, 0), None)]  # none reaches silver: kept, not lost
    schema = "record_id STRING, event_id STRING, event_type STRING, zone_id BIGINT, event_time TIMESTAMP, amount DOUBLE"
    events = spark.createDataFrame(rows, schema)
    once = one_per_event(events)
    kept = once.collect()
    assert sorted(r.event_id or "" for r in kept) == ["", "e1", "e2"]
    assert {tuple(r) for r in kept} <= set(rows)  # whole rows as silver holds them
    for order in (rows[::-1], rows[2:] + rows[:2]):
        again = one_per_event(spark.createDataFrame(order, schema).repartition(3))
        assert_df_equality(again, once, ignore_row_order=True)
