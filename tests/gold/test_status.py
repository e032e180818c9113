"""Zone status now: each rule on hand-written rows, then the streaming job against the simulator's truth
at several instants (landing files arriving over a day)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import chispa
import pandas as pd
import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.gold.status import gate_inside, searches_at, zone_status

AS_OF = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
GATE_DDL = ("event_id STRING, event_type STRING, zone_id BIGINT, license_plate STRING, vehicle_type STRING, "
            "event_time TIMESTAMP, entry_event_id STRING, transaction_id STRING, amount DOUBLE, currency STRING, "
            "payment_method STRING, payment_status STRING")
OPEN_DDL = "zone_id BIGINT, phase STRING, circling_start TIMESTAMP, parked_at TIMESTAMP, circling_seconds DOUBLE"
CLOSED_DDL = "zone_id BIGINT, outcome STRING, circling_start TIMESTAMP, circling_seconds DOUBLE"


def at(minutes: float) -> datetime:
    """`minutes` after (negative: before) AS_OF."""
    return AS_OF + timedelta(minutes=minutes)


def gate(event_id: str, kind: str, zone: int, plate: str, minutes: float, entry: str | None = None) -> tuple:
    return (event_id, kind, zone, plate, "car", at(minutes), entry, None, None, None, None, None)


def test_gate_count_is_the_vehicles_inside_at_the_instant(spark):
    events = spark.createDataFrame([
        gate("e1", "VEHICLE_ENTRY", 1, "A", -90),                    # inside
        gate("e2", "VEHICLE_ENTRY", 1, "B", -60), gate("x2", "VEHICLE_EXIT", 1, "B", -5, "e2"),  # left before
        gate("e3", "VEHICLE_ENTRY", 1, "C", -30), gate("x3", "VEHICLE_EXIT", 1, "C", 1, "e3"),   # leaves after
        gate("e4", "VEHICLE_ENTRY", 1, "D", 2),                      # comes after the instant
        gate("e5", "VEHICLE_ENTRY", 1, "E", -25 * 60),               # exit lost a day ago: no longer counted
        gate("e6", "VEHICLE_ENTRY", 2, "F", 0),                      # at the instant itself: inside
        gate("x7", "VEHICLE_EXIT", 2, "G", -3, "unknown"),           # exit without its entry: not inside
        gate("e8", "VEHICLE_ENTRY", 2, "H", -50), gate("x8", "VEHICLE_EXIT", 2, "H", -40, "e8"),  # two exit reads
        gate("x8b", "VEHICLE_EXIT", 2, "H", -39, "e8"),
        gate("p1", "PAYMENT", 1, "A", -10),                          # payments play no part
    ], GATE_DDL)
    got = gate_inside(events, AS_OF, max_stay_hours=24)
    expected = spark.createDataFrame([(1, 2), (2, 1)], "zone_id BIGINT, gate_parked BIGINT")
    chispa.assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_searching_and_app_parked_come_from_the_open_searches(spark):
    running = spark.createDataFrame([
        (1, "searching", at(-4), None, None), (1, "searching", at(-1), None, None),
        (1, "parked", at(-20), at(-12), 480.0), (1, "entered", None, None, None),
        (2, "parked", at(-9), at(-7), 120.0),
    ], OPEN_DDL)
    closed = spark.createDataFrame([], CLOSED_DDL)
    got = searches_at(closed, running, AS_OF).select("zone_id", "app_parked", "searching_now")
    expected = spark.createDataFrame([(1, 1, 2), (2, 1, 0)], "zone_id BIGINT, app_parked BIGINT, searching_now BIGINT")
    chispa.assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)


def test_recent_circling_takes_searches_that_ended_in_the_last_15_minutes(spark):
    closed = spark.createDataFrame([
        (1, "parked", at(-20), 600.0),      # ended at -10: in
        (1, "abandoned", at(-14), 420.0),   # ended at -7: in
        (1, "parked", at(-40), 600.0),      # ended at -30: out
        (1, "timed_out", at(-12), 300.0),   # no circling end: out
        (1, "parked", at(-2), 240.0),       # ends after the instant: out
    ], CLOSED_DDL)
    running = spark.createDataFrame([(1, "parked", at(-8), at(-3), 300.0), (1, "searching", at(-2), None, None)],
                                    OPEN_DDL)
    (row,) = searches_at(closed, running, AS_OF).collect()
    assert row.zone_id == 1 and row.circling_recent_n == 3
    assert row.app_parked == 1 and row.searching_now == 1  # the open rows counted by the same aggregate
    assert row.circling_recent_p50_s == pytest.approx(420.0)
    assert row.circling_recent_p90_s == pytest.approx(600 - 0.2 * (600 - 420))  # linear between 420 and 600


def test_status_counts_gates_at_car_parks_and_scales_streets(spark):
    zones = spark.createDataFrame([(1, "Lot", "Manila", "LOT", 10), (2, "Street", "Manila", "STREET", 20),
                                   (3, "New street", "Manila", "STREET", 5)],
                                  "zone_id BIGINT, name STRING, city STRING, zone_type STRING, capacity INT")
    inside = spark.createDataFrame([(1, 12)], "zone_id BIGINT, gate_parked BIGINT")  # more than capacity
    searches = spark.createDataFrame(
        [(1, 3, 1, 0, None, None), (2, 4, 2, 0, None, None), (3, 2, 0, 0, None, None)],
        "zone_id BIGINT, app_parked BIGINT, searching_now BIGINT, circling_recent_n BIGINT, "
        "circling_recent_p50_s DOUBLE, circling_recent_p90_s DOUBLE")
    penetration = spark.createDataFrame([(1, 0.5), (2, 0.25)], "zone_id BIGINT, app_penetration DOUBLE")
    updated = AS_OF + timedelta(seconds=40)
    got = zone_status(zones, inside, searches, penetration, AS_OF, updated).orderBy("zone_id") \
        .select("zone_id", "vehicles_parked", "parked_source", "app_parked", "estimated_parked", "app_penetration",
                "searching_now", "circling_recent_n", "free_spaces", "staleness_seconds").collect()
    assert [tuple(r) for r in got] == [
        (1, 12, "gate", 3, None, None, 1, 0, 0, 40.0),             # gates count every vehicle; no negative space
        (2, 16, "app_scaled_estimate", 4, 16.0, 0.25, 2, 0, 4, 40.0),  # 4 app users at 25%: 16 vehicles
        (3, 2, "app_sessions", 2, None, None, 0, 0, 3, 40.0),       # no penetration yet: the app count
    ]


# --- the streaming job against the truth ------------------------------------------------------------------------
def _land_until(source: Path, target: Path, until: datetime) -> int:
    """Copy the landing files whose arrival window (path `<hub>/YYYY/MM/DD/HH/mm-part.jsonl`) ended by `until`."""
    copied = 0
    for path in sorted((source / "landing").rglob("*.jsonl")):
        rel = path.relative_to(source / "landing")
        hub, y, m, d, h = rel.parts[:5]
        start = datetime(int(y), int(m), int(d), int(h), int(path.name[:2]), tzinfo=UTC)
        dest = target / "landing" / rel
        if start + timedelta(minutes=15) <= until and not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            copied += 1
    return copied


def _searching_truth(searches: pd.DataFrame, t: pd.Timestamp) -> pd.Series:
    s = searches[searches["circling_seconds"].notna() & searches["circling_start"].notna()]
    ends = s["circling_start"] + pd.to_timedelta(s["circling_seconds"], unit="s")
    return s[(s["circling_start"] <= t) & (ends > t)].groupby("zone_id").size()


@pytest.mark.slow
def test_zone_status_follows_the_truth_through_the_day(spark, small_city, tmp_path):
    """Files arrive over the day; after each ingestion the status describes `as_of` (newest event minus the
    sessions' watermark): gated zones' vehicles parked within 2% of the truth (all vehicles), drivers
    searching within the detection's delay, and the status written once per sessions micro-batch
    that the rules ran in."""
    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.ingestion import run_ingestion
    from parkpal_lakehouse.io.checkpoint import batch_watermark_ms
    from parkpal_lakehouse.io.delta import delta_table, read_table
    from parkpal_lakehouse.names import ZONE_STATUS, silver_table
    from parkpal_lakehouse.sessions.backfill import data_horizon_ms, silver_events_batch
    from parkpal_lakehouse.silver.reference import load_reference_tables
    from parkpal_lakehouse.simulator.truth import load_stays, parked_at_instant

    root = tmp_path / "city"
    for part in ("reference", "truth"):
        shutil.copytree(small_city.root / part, root / part)
    config = local_config(root)
    load_reference_tables(spark, config, root / "reference")
    stays, searches = load_stays(root / "truth"), small_city.searches
    start = datetime.fromtimestamp(small_city.manifest["window_start"], UTC)
    checked = []
    for hours in (9, 13, 19):  # the city's day starts at local midnight: 09:00, 13:00 and 19:00 in Manila
        assert _land_until(small_city.root, root, start + timedelta(hours=hours)) > 0
        run_ingestion(spark, config, list(Hub), progress=lambda _m: None, sessions=True)
        status = read_table(spark, config, ZONE_STATUS).toPandas()
        as_of = pd.Timestamp(status["as_of"].iloc[0], tz="UTC")
        assert status["as_of"].nunique() == 1 and len(status) == 8
        # Not a micro-batch behind: the instant is the newest event fed to sessionization so far minus the
        # watermark, the batch twin's horizon (silver's newest event of any kind, e.g. a gate read of a car
        # without the app, can only be later).
        horizon_ms = data_horizon_ms(silver_events_batch(spark, config), config.sessions.watermark_seconds)
        assert as_of == pd.Timestamp(horizon_ms, unit="ms", tz="UTC")
        newest = max(read_table(spark, config, silver_table(hub)).agg(F.max("event_time")).first()[0] for hub in Hub)
        assert pd.Timestamp(newest, tz="UTC") - as_of >= pd.Timedelta(seconds=config.sessions.watermark_seconds)
        assert as_of > pd.Timestamp(start + timedelta(hours=hours - 1))  # and that is the files just landed
        gated = status[status["zone_type"].isin(["LOT", "GARAGE"])].set_index("zone_id")
        truth = parked_at_instant(stays, as_of).reindex(gated.index, fill_value=0)
        assert (gated["parked_source"] == "gate").all()
        total, error = truth.sum(), (gated["vehicles_parked"] - truth).abs().sum()
        assert total > 0 and error <= 0.02 * total, (as_of, gated["vehicles_parked"].to_dict(), truth.to_dict())
        searching = _searching_truth(searches, as_of).reindex(gated.index, fill_value=0)
        searching_error = (gated["searching_now"] - searching).abs().sum()
        assert searching_error <= 0.02 * searching.sum(), (as_of, gated["searching_now"].to_dict(), searching.to_dict())
        checked.append((as_of, int(total), int(error), int(searching.sum()), int(gated["searching_now"].sum())))
    print("zone status at gated zones against truth (as_of, parked, error, searching true, found):", checked)
    assert len({c[0] for c in checked}) == 3
    # One overwrite per sessions micro-batch that the rules ran in, none skipped or doubled (the writes carry
    # the query's transaction ids): as many overwrites as batches the query's checkpoint committed with a
    # watermark, no-data ones too; the first batch has none (Spark's watermark is 0: no event applied yet).
    history = delta_table(spark, config, ZONE_STATUS).history().toPandas()
    overwrites = history[history["operationParameters"].map(lambda p: p.get("mode")) == "Overwrite"]
    checkpoint = Path(config.checkpoint_path("silver_parking_sessions"))
    batches = sorted(int(f.name) for f in (checkpoint / "commits").iterdir() if f.name.isdigit())
    watermarks = [batch_watermark_ms(spark, str(checkpoint), b) for b in batches]
    assert batches == list(range(len(batches))) and watermarks[0] == 0 and all(w > 0 for w in watermarks[1:])
    assert len(overwrites) == len(batches) - 1 >= 3, (len(overwrites), batches, watermarks)
