"""The hourly gold job on the small simulated city: ground truth, idempotency, late data, quality gate,
SQL access. The city's tables are copied first, so the shared `ingested_city` stays as it was."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.cli import main
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.gold.accuracy import gold_accuracy
from parkpal_lakehouse.gold.hourly import CHANGE_TABLES, closed_until, run_hourly, touched_hours
from parkpal_lakehouse.gold.maintenance import run_maintenance
from parkpal_lakehouse.io.delta import delta_table, overwrite_table, read_table
from parkpal_lakehouse.io.writers import append_rows, replace_where
from parkpal_lakehouse.names import (
    DIM_DATE,
    DIM_HOUR,
    DIM_ZONE,
    FACT_GATE_SESSIONS,
    FACT_PARKING_SESSIONS,
    HOURLY_RUNS,
    PARKING_SESSIONS,
    ZONE_METRICS_HOURLY,
    silver_table,
)
from parkpal_lakehouse.quality.runner import QualityGateFailed

pytestmark = [pytest.mark.slow]
FACTS = (ZONE_METRICS_HOURLY, FACT_PARKING_SESSIONS, FACT_GATE_SESSIONS)


def snapshot(spark, config, table, where="true"):
    return read_table(spark, config, table).filter(where).toPandas().sort_values(
        list(read_table(spark, config, table).columns[:2])).reset_index(drop=True)


def test_first_run_computes_every_closed_hour_with_every_table(spark, gold_city, small_city):
    config, report = gold_city  # the bundle's hourly job's first run (conftest.py)
    until = closed_until(spark, config)
    assert report.mode == "pending" and report.hours[-1] == until - timedelta(hours=1)
    assert f"{len(report.hours)} hour(s) computed (pending)" in report.output
    zones = read_table(spark, config, DIM_ZONE).count()
    zone_ids = read_table(spark, config, DIM_ZONE).select("zone_id").distinct().count()
    assert f"zone versions added: {zone_ids}\n" in report.output  # the first run opens one version per zone
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY)
    assert metrics.count() == zones * len(report.hours)  # every zone, every hour, zeros included
    assert read_table(spark, config, FACT_PARKING_SESSIONS).count() == \
        read_table(spark, config, PARKING_SESSIONS).filter(F.col("zone_entry_at") < F.lit(until)).count()
    assert read_table(spark, config, FACT_GATE_SESSIONS).count() > 0
    assert read_table(spark, config, DIM_HOUR).count() == 24 and read_table(spark, config, DIM_DATE).count() >= 365 * 3
    # by this city's path: the catalog name follows whichever lakehouse a test used last
    results = read_table(spark, config, "ops.quality_results").where("table_name LIKE 'gold.%'").collect()
    assert {r.expectation for r in results} >= {"gold_occupancy_rate_0_to_1_05", "gold_occupancy_inside_its_interval",
                                                "gold_revenue_reconciles_with_silver_payments",
                                                "gold_metrics_for_every_active_zone_hour"}
    assert all(r.success for r in results if r.expectation != "gold_data_completeness_at_least_90pct")


def test_metrics_match_the_ground_truth(spark, gold_city, small_city):
    config, _ = gold_city
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY).toPandas()
    settled = pd.Timestamp(small_city.manifest["window_end"], unit="s", tz="UTC") - pd.Timedelta(hours=1)
    accuracy = gold_accuracy(metrics, small_city.occupancy, small_city.searches, settled)
    print("\n".join(accuracy.lines()))
    assert accuracy.occupancy_mae["LOT"] < 0.005 and accuracy.occupancy_mae["GARAGE"] < 0.005  # gate-based
    assert accuracy.occupancy_mae["STREET"] < 0.02  # app-measured vs the app users' truth
    # street zone-hours carry the all-driver estimate, except in a city without car parks (no gate data to
    # calibrate with: labelled app_sessions); it beats reading the app count as the street's
    zones = read_table(spark, config, DIM_ZONE).filter("is_current").toPandas()
    gated_cities = set(zones[zones.is_gated].city)
    street = metrics[metrics.zone_type == "STREET"].merge(zones[["zone_id", "city"]], on="zone_id")
    assert (street.occupancy_source == street.city.map(
        lambda c: "app_scaled_estimate" if c in gated_cities else "app_sessions")).all()
    assert accuracy.street_estimate_hours > 20
    # app users are a sample of the street's vehicles: no scaling of their count gets below the floor of
    # scaling by the true share; ours stays close to it, and its interval covers the truth
    assert accuracy.street_estimate_mae < 1.25 * accuracy.street_oracle_mae
    assert accuracy.street_estimate_coverage >= 0.8
    assert accuracy.street_app_only_mae > 2 * accuracy.street_estimate_mae
    # phones send whole seconds: an average of errors each under a second stays under a second
    assert accuracy.circling_zone_hours > 50 and accuracy.circling_mae_seconds < 1.0
    assert accuracy.circling_zone_hours_exact > 0.97 and accuracy.parked_count_agreement > 0.97
    revenue = metrics.revenue.sum()
    gate = read_table(spark, config, silver_table(Hub.GATE)).filter(
        F.col("event_time") < F.lit(closed_until(spark, config))).toPandas()
    signed = gate.amount.where(gate.payment_status == "COMPLETED", 0) - gate.amount.where(
        gate.payment_status == "REFUNDED", 0)
    assert revenue == pytest.approx(signed.fillna(0).sum())


def test_rerunning_hours_rewrites_them_identically(spark, gold_city):
    config, report = gold_city
    hours = report.hours[5:8]
    where = "true"
    before = {t: snapshot(spark, config, t, where) for t in FACTS}
    versions = {t: delta_table(spark, config, t).history(1).first().version for t in FACTS}
    again = run_hourly(spark, config, hours, progress=lambda _m: None)
    assert again.hours == hours and again.mode == "explicit"
    # an explicit run records no table versions: pending runs never look for changes from it
    explicit = read_table(spark, config, HOURLY_RUNS).where("mode = 'explicit'").collect()
    assert explicit and all(r.table_versions is None for r in explicit)
    for table in FACTS:
        assert delta_table(spark, config, table).history(1).first().version > versions[table]  # really rewritten
        pd.testing.assert_frame_equal(snapshot(spark, config, table, where), before[table], check_like=True)


def test_nothing_new_means_nothing_to_compute(spark, gold_city):
    config, _ = gold_city
    # The clock and the run id are injected: the run's row says exactly when and which. (A time before the
    # earlier runs: the newest run, whose start later runs look for changes from, stays theirs.)
    ticks = iter([datetime(2026, 1, 5, 1, 0, tzinfo=UTC), datetime(2026, 1, 5, 1, 2, tzinfo=UTC)])
    report = run_hourly(spark, config, progress=lambda _m: None, now=lambda: next(ticks), run_id=lambda: "run-quiet")
    assert report.hours == []
    run = read_table(spark, config, HOURLY_RUNS).where("run_id = 'run-quiet'").collect()
    assert [(r.started_at, r.finished_at, r.mode, r.hours_computed, r.status) for r in run] == [
        (datetime(2026, 1, 5, 1, 0), datetime(2026, 1, 5, 1, 2), "pending", 0, "ok")]


def late_payment(spark, config, hour: datetime, event_id: str, amount: float):
    """A completed payment at a car park, 20 minutes into `hour`, written to silver now; returns its zone."""
    zone = read_table(spark, config, DIM_ZONE).filter("is_gated").orderBy("zone_id").first().zone_id
    gate = read_table(spark, config, silver_table(Hub.GATE))
    paid_at = hour + timedelta(minutes=20)
    overrides = {"event_id": event_id, "zone_id": zone, "license_plate": "LTE 4242",
                 "transaction_id": f"T-{event_id}", "amount": amount, "payment_status": "COMPLETED",
                 "event_time": paid_at, "event_date": paid_at.date(), "processed_at": datetime.now(UTC)}
    late = gate.filter("event_type = 'PAYMENT'").limit(1).select(*[
        F.lit(overrides[c]).cast(gate.schema[c].dataType).alias(c) if c in overrides else F.col(c)
        for c in gate.columns])
    append_rows(late, config, silver_table(Hub.GATE))
    return zone


def test_within_the_margin_only_tables_with_new_commits_are_read(spark, gold_city):
    """The margin (`change_margin_minutes`) re-reads rows written shortly before the last run started;
    a table still at the Delta version that run recorded has nothing new, however wide the margin."""
    config, _ = gold_city
    wide = replace(config, gold=replace(config.gold, change_margin_minutes=7 * 24 * 60))  # every row "recent"
    last = read_table(spark, config, HOURLY_RUNS).where("mode = 'pending'").orderBy(F.desc("started_at")).first()
    assert set(last.table_versions) == set(CHANGE_TABLES) and all(v is not None for v in last.table_versions.values())
    assert touched_hours(spark, config, last.started_at.replace(tzinfo=UTC) - timedelta(days=7)) != []
    assert run_hourly(spark, wide, progress=lambda _m: None).hours == []


def test_a_late_payment_recomputes_only_its_hour(spark, gold_city):
    config, report = gold_city
    hour = report.hours[10]
    before = snapshot(spark, config, ZONE_METRICS_HOURLY)
    zone = late_payment(spark, config, hour, "late-payment-1", 999.0)
    # an explicit run in between computes only the hour it names (identically): the next pending run still
    # looks for changes from the last pending run, so it finds the payment
    run_hourly(spark, config, report.hours[3:4], progress=lambda _m: None)
    rerun = run_hourly(spark, config, progress=lambda _m: None)
    assert rerun.hours == [hour]
    after = snapshot(spark, config, ZONE_METRICS_HOURLY)
    changed = after.compare(before)
    assert set(after.loc[changed.index, "zone_id"]) == {zone}
    at = pd.Timestamp(hour.replace(tzinfo=None))
    row_after = after[(after.zone_id == zone) & (after.hour_start == at)].iloc[0]
    row_before = before[(before.zone_id == zone) & (before.hour_start == at)].iloc[0]
    assert row_after.revenue == pytest.approx(row_before.revenue + 999.0)
    assert row_after.payments_completed == row_before.payments_completed + 1


def test_quality_gate_stops_a_range_before_writing(spark, gold_city):
    config, report = gold_city
    dim = read_table(spark, config, DIM_ZONE).toPandas()
    broken = dim.assign(capacity=dim.capacity.where(~dim.is_gated, 1))  # a reference error: car parks of 1 space
    original = read_table(spark, config, DIM_ZONE).collect()
    version = delta_table(spark, config, ZONE_METRICS_HOURLY).history(1).first().version
    overwrite_table(spark.createDataFrame(broken, read_table(spark, config, DIM_ZONE).schema), config, DIM_ZONE)
    try:
        with pytest.raises(QualityGateFailed, match="gold_occupancy_rate_0_to_1_05"):
            run_hourly(spark, config, report.hours[8:9], repair=False, progress=lambda _m: None)
        assert delta_table(spark, config, ZONE_METRICS_HOURLY).history(1).first().version == version
        failed = read_table(spark, config, "ops.quality_results").where(
            "NOT success AND expectation = 'gold_occupancy_rate_0_to_1_05'").count()
        assert failed >= 1
    finally:
        overwrite_table(spark.createDataFrame(original, read_table(spark, config, DIM_ZONE).schema), config, DIM_ZONE)


def test_sql_command_queries_gold_tables_and_views(spark, gold_city, capsys):
    config, _ = gold_city
    assert main(["sql", "SELECT zone_type, SUM(parked) AS parked FROM gold.v_zone_daily GROUP BY zone_type "
                 "ORDER BY zone_type", "--root", config.storage_root]) == 0
    out = capsys.readouterr().out
    parked = read_table(spark, config, ZONE_METRICS_HOURLY).groupBy("zone_type").agg(F.sum("parked")).collect()
    assert "zone_type | " in out and f"({len(parked)} rows)" in out
    for r in parked:
        assert r.zone_type in out and f"{r[1]:,}" in out


def test_maintenance_compacts_and_keeps_time_travel(spark, gold_city):
    config, _ = gold_city
    table = config.table_path(ZONE_METRICS_HOURLY)
    # the hourly job compacts the partitions it writes: the newest day's rows written again, unchanged, in
    # three files leave some to compact
    day = read_table(spark, config, ZONE_METRICS_HOURLY).agg(F.max("metric_date")).first()[0]
    rows = read_table(spark, config, ZONE_METRICS_HOURLY).where(F.col("metric_date") == F.lit(day)).localCheckpoint()
    replace_where(rows.repartition(3), config, ZONE_METRICS_HOURLY, f"metric_date = DATE'{day:%Y-%m-%d}'")
    files_before = spark.sql(f"DESCRIBE DETAIL delta.`{table}`").first().numFiles
    partitions = read_table(spark, config, ZONE_METRICS_HOURLY).select("metric_date").distinct().count()
    assert files_before > partitions
    report = run_maintenance(spark, config, [ZONE_METRICS_HOURLY], optimize=[ZONE_METRICS_HOURLY])
    assert report.retention_hours == 168 and set(report.vacuumed) == {ZONE_METRICS_HOURLY}
    assert report.optimized[ZONE_METRICS_HOURLY] >= files_before - partitions
    files_after = spark.sql(f"DESCRIBE DETAIL delta.`{table}`").first().numFiles
    assert files_after == partitions  # one file per partition after compaction
    history = delta_table(spark, config, ZONE_METRICS_HOURLY).history().select("version", "operation").collect()
    assert "OPTIMIZE" in {h.operation for h in history}
    first = min(h.version for h in history)
    assert spark.read.format("delta").option("versionAsOf", first).load(table).schema  # time travel still works
    with pytest.raises(ConfigError, match="7-day time travel"):
        run_maintenance(spark, config, [ZONE_METRICS_HOURLY], retention_hours=24)


def test_an_hour_not_closed_yet_is_refused(spark, gold_city):
    config, _ = gold_city
    until = closed_until(spark, config)
    with pytest.raises(ConfigError, match=f"hour {until:%Y-%m-%dT%H:%M} UTC is not closed yet"):
        run_hourly(spark, config, [until], progress=lambda _m: None)


def test_recorded_bounds_read_only_the_end_dates_and_everything_when_silver_moved(spark, tmp_path):
    """A run reads silver's first and newest events only from the dates at the recorded bounds' ends: a date
    between them whose files are gone is never opened. Rows written later on a newer date are found; a record
    that no longer matches silver (rows of the recorded end dates deleted) falls back to reading everything."""
    import shutil

    from parkpal_lakehouse.config import local_config
    from parkpal_lakehouse.gold.hourly import SilverBounds, silver_bounds
    from parkpal_lakehouse.io.delta import save

    config = local_config(tmp_path / "lakehouse")
    day = lambda d, h: datetime(2026, 3, d, h, 30, tzinfo=UTC)  # noqa: E731

    def write(hub: Hub, times: list[datetime], mode: str = "append") -> None:
        rows = spark.createDataFrame([(t, t.date()) for t in times], "event_time TIMESTAMP, event_date DATE")
        save(rows.write.format("delta").mode(mode).partitionBy("event_date"), spark, config, silver_table(hub))

    write(Hub.ACTIVITY, [day(2, 8), day(3, 9), day(4, 23)])
    write(Hub.GEOFENCE, [day(1, 6), day(3, 7), day(5, 10)])
    write(Hub.GATE, [day(1, 5), day(3, 12), day(4, 18)])  # the gate's newest a day before the others'
    truth = SilverBounds(day(1, 5), day(5, 10), day(4, 18))
    assert silver_bounds(spark, config) == truth
    # a record silver no longer matches (rows of its end dates gone since): everything is read
    assert silver_bounds(spark, config, SilverBounds(day(1, 5), day(6, 1), day(4, 18))) == truth  # restored
    assert silver_bounds(spark, config, SilverBounds(datetime(2026, 2, 27, tzinfo=UTC), day(5, 10), day(4, 18))
                         ) == truth  # the first day's rows deleted
    assert silver_bounds(spark, config, SilverBounds(day(1, 5), day(5, 10), day(5, 1))) == truth  # the gate's
    # the middle date's files gone (no commit): reading everything fails, the recorded ends do not open them
    for hub in Hub:
        shutil.rmtree(f"{config.table_path(silver_table(hub))}/event_date=2026-03-03")
    with pytest.raises(Exception, match="FILE_NOT_EXIST"):
        silver_bounds(spark, config)
    assert silver_bounds(spark, config, truth) == truth
    # rows written since the record: later ones (the gate's too), and a late one before the first
    write(Hub.GATE, [day(5, 20)])
    write(Hub.ACTIVITY, [day(7, 2)])
    write(Hub.GEOFENCE, [datetime(2026, 2, 28, 23, 0, tzinfo=UTC)])
    assert silver_bounds(spark, config, truth) == SilverBounds(datetime(2026, 2, 28, 23, 0, tzinfo=UTC), day(7, 2),
                                                               day(5, 20))
