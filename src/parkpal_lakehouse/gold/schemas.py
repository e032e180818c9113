"""The gold tables: shapes and partitioning, and creating them before the first write.

Times are UTC instants (`*_at`, `hour_start`); the keys analysts group by are Philippine local time
(`date_key` yyyymmdd and `hour_key` 0-23 in `config.timezone`), joining `gold.dim_date` / `gold.dim_hour`.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.gold.calendar import DIM_DATE_DDL, DIM_HOUR_DDL
from parkpal_lakehouse.io.delta import create_tables_if_missing
from parkpal_lakehouse.names import (
    DIM_DATE,
    DIM_HOUR,
    DIM_ZONE,
    FACT_GATE_SESSIONS,
    FACT_PARKING_SESSIONS,
    GATE_ENTRY_COUNTS,
    HOURLY_RUNS,
    ZONE_METRICS_HOURLY,
)

DIM_ZONE_DDL = (
    "zone_key BIGINT, zone_id BIGINT, name STRING, city STRING, zone_type STRING, operator STRING, "
    "capacity INT, latitude DOUBLE, longitude DOUBLE, radius_m DOUBLE, hourly_rate DOUBLE, currency STRING, "
    "is_gated BOOLEAN, attributes_hash STRING, valid_from TIMESTAMP, valid_to TIMESTAMP, is_current BOOLEAN"
)
FACT_PARKING_SESSIONS_DDL = (
    "session_id STRING, user_key STRING, zone_id BIGINT, date_key INT, hour_key INT, entry_hour TIMESTAMP, "
    "zone_entry_at TIMESTAMP, circling_start TIMESTAMP, parked_at TIMESTAMP, confirmed_at TIMESTAMP, "
    "departed_at TIMESTAMP, closed_at TIMESTAMP, circling_seconds DOUBLE, parked_seconds DOUBLE, outcome STRING, "
    "circling_is_estimate BOOLEAN, confirmation STRING, departure_source STRING, written_by STRING, "
    "entry_date DATE"
)
FACT_GATE_SESSIONS_DDL = (
    "visit_id STRING, zone_id BIGINT, plate_key STRING, vehicle_type STRING, date_key INT, hour_key INT, "
    "visit_hour TIMESTAMP, entry_at TIMESTAMP, exit_at TIMESTAMP, duration_minutes DOUBLE, payments INT, "
    "paid_at TIMESTAMP, amount_paid DOUBLE, amount_refunded DOUBLE, net_amount DOUBLE, currency STRING, "
    "payment_method STRING, payment_status STRING, visit_status STRING, entry_date DATE"
)
ZONE_METRICS_HOURLY_DDL = (
    "zone_id BIGINT, hour_start TIMESTAMP, date_key INT, hour_key INT, zone_type STRING, operator STRING, "
    "capacity INT, searches_started BIGINT, parked BIGINT, abandoned BIGINT, timed_out BIGINT, no_search BIGINT, "
    "circling_seconds_avg DOUBLE, circling_seconds_min DOUBLE, circling_seconds_max DOUBLE, "
    "circling_seconds_p50 DOUBLE, circling_seconds_p90 DOUBLE, occupied_avg DOUBLE, occupied_peak BIGINT, "
    "occupancy_rate DOUBLE, peak_occupancy_rate DOUBLE, occupancy_source STRING, occupancy_rate_low DOUBLE, "
    "occupancy_rate_high DOUBLE, app_occupied_avg DOUBLE, app_penetration DOUBLE, open_ended_stays BIGINT, "
    "revenue DOUBLE, "
    "payments_completed BIGINT, refunds BIGINT, gate_entries BIGINT, gate_exits BIGINT, events_received BIGINT, "
    "events_quarantined BIGINT, data_completeness DOUBLE, metric_date DATE"
)
# Kept by the hourly job (`gold/entry_counts.py`); each day's rows carry what they were counted from.
GATE_ENTRY_COUNTS_DDL = (
    "entry_date DATE, zone_id BIGINT, hour_of_week INT, entries BIGINT, app_entries BIGINT, counted_at TIMESTAMP, "
    "vehicles_version BIGINT, time_zone STRING"
)
HOURLY_RUNS_DDL = (
    "run_id STRING, started_at TIMESTAMP, finished_at TIMESTAMP, mode STRING, changes_since TIMESTAMP, "
    "hours_computed INT, first_hour TIMESTAMP, last_hour TIMESTAMP, seconds DOUBLE, status STRING, "
    "table_versions MAP<STRING, BIGINT>, silver_first_event TIMESTAMP, silver_newest_event TIMESTAMP, "
    "gate_newest_event TIMESTAMP"
)
# The silver bounds a run read (`gold.hourly.SilverBounds`): the next run reads only the dates that can move them.
BOUNDS_COLUMNS = ("silver_first_event", "silver_newest_event", "gate_newest_event")

# Partition columns (local dates), and the keys OPTIMIZE clusters each table's files by.
PARTITIONS: dict[str, tuple[str, ...]] = {
    FACT_PARKING_SESSIONS: ("entry_date",),
    FACT_GATE_SESSIONS: ("entry_date",),
    ZONE_METRICS_HOURLY: ("metric_date",),
    GATE_ENTRY_COUNTS: ("entry_date",),
}
ZORDER: dict[str, tuple[str, ...]] = {
    FACT_PARKING_SESSIONS: ("zone_id", "entry_hour"),
    FACT_GATE_SESSIONS: ("zone_id", "visit_hour"),
    ZONE_METRICS_HOURLY: ("zone_id", "hour_start"),
    DIM_ZONE: ("zone_id",),
}
GOLD_TABLES: dict[str, str] = {
    DIM_ZONE: DIM_ZONE_DDL,
    DIM_DATE: DIM_DATE_DDL,
    DIM_HOUR: DIM_HOUR_DDL,
    FACT_PARKING_SESSIONS: FACT_PARKING_SESSIONS_DDL,
    FACT_GATE_SESSIONS: FACT_GATE_SESSIONS_DDL,
    ZONE_METRICS_HOURLY: ZONE_METRICS_HOURLY_DDL,
    GATE_ENTRY_COUNTS: GATE_ENTRY_COUNTS_DDL,
}


def prepare_gold_tables(spark: SparkSession, config: LakehouseConfig) -> None:
    create_tables_if_missing(spark, config, [
        *((logical, ddl, PARTITIONS.get(logical, ())) for logical, ddl in GOLD_TABLES.items()),
        (HOURLY_RUNS, HOURLY_RUNS_DDL, ())])
