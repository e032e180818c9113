"""Logical names (`layer.table`) of every lakehouse table, on the floor every stage reads from.

`LakehouseConfig.table_name` / `table_path` turn one into the physical name or folder of an environment;
nothing else builds table names. The DDL of each table lives with the stage that writes it.
"""

from __future__ import annotations

# bronze: one raw table per hub (`bronze_table`)
# silver: the events of each hub (`silver_table`), what failed the contract, the reference data
QUARANTINE = "silver.quarantine"
ZONES = "silver.zones"
VEHICLES = "silver.vehicles"
STREET_COUNTS = "silver.street_counts"
# silver: parking sessions (the streaming sessionization writes them)
PARKING_SESSIONS = "silver.parking_sessions"
OPEN_SESSIONS = "silver.parking_sessions_open"
LATE_EVENTS = "silver.late_events"
# gold: dimensions, facts, hourly metrics, forecasts
DIM_ZONE = "gold.dim_zone"
DIM_DATE = "gold.dim_date"
DIM_HOUR = "gold.dim_hour"
FACT_PARKING_SESSIONS = "gold.fact_parking_sessions"
FACT_GATE_SESSIONS = "gold.fact_gate_sessions"
ZONE_METRICS_HOURLY = "gold.zone_metrics_hourly"
# gold: each local day's gate entries per zone and hour of the week, what the app penetration sums
GATE_ENTRY_COUNTS = "gold.gate_entry_counts"
ZONE_OCCUPANCY_FORECAST = "gold.zone_occupancy_forecast"
FORECAST_ACCURACY_DAILY = "gold.forecast_accuracy_daily"
ZONE_FORECAST_FEATURES = "gold.zone_forecast_features"  # what the served forecaster looks up
# gold: each zone now, rewritten by the streaming job every sessions micro-batch
ZONE_STATUS = "gold.zone_status"
# ops: what the pipeline says about itself
QUALITY_RESULTS = "ops.quality_results"
PIPELINE_PROGRESS = "ops.pipeline_progress"
INGESTION_BALANCE = "ops.ingestion_balance"
HOURLY_RUNS = "ops.gold_hourly_runs"


def bronze_table(hub: str) -> str:
    """The bronze table of a hub (`activity-events` -> `bronze.activity_events_raw`)."""
    return f"bronze.{str(hub).replace('-', '_')}_raw"


def silver_table(hub: str) -> str:
    """The silver table of a hub (`activity-events` -> `silver.activity_events`)."""
    return f"silver.{str(hub).replace('-', '_')}"


def query_name(layer: str, hub: str) -> str:
    """The streaming query (and checkpoint) of a layer and hub: `silver_activity_events`."""
    return f"{layer}_{str(hub).replace('-', '_')}"
