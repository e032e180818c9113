"""`gold.zone_metrics_hourly`: one row per zone and hour, every zone every hour (zeros included).

Searches and circling by the hour the driver entered the zone; occupancy time-weighted over the hour
(`occupancy.py`); revenue from payments in the hour (completed, net of refunds at refund time); gate
traffic; and data completeness: the share of the zone's events of that hour that arrived valid
(geofence and gate events in silver, over those plus the quarantined records that name the zone and
hour).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.gold.keys import date_key, hour_key, hour_of, local_date
from parkpal_lakehouse.gold.occupancy import GATE, all_driver_estimate, hourly_occupancy, open_ended_stays
from parkpal_lakehouse.gold.zones import zones_at


@dataclass(frozen=True)
class HourlyInputs:
    """What one range of hours is computed from; `hourly.py` reads them with bounded lookbacks."""

    zone_hours: DataFrame  # zone_id, hour_start, zone_type, operator, city, capacity, is_gated (at that hour)
    searches: DataFrame  # session_id, zone_id, zone_entry_at, outcome, circling_seconds: closed + parked now
    sessions: DataFrame  # silver.parking_sessions (closed), entries in the range
    gate_events: DataFrame  # silver.gate_events in the range
    gate_visits: DataFrame  # facts.gate_visits over the gate events around the range
    gate_stays: DataFrame  # zone_id, start_at, end_at: every gated stay overlapping the range
    session_stays: DataFrame  # zone_id, start_at, end_at, open_ended: every app parked stay overlapping the range
    penetration: DataFrame  # city, hour_of_week, app_penetration, penetration_sd (occupancy.app_penetration)
    zone_events: DataFrame  # zone_id, event_time: geofence + gate events in silver, in the range
    quarantined: DataFrame  # zone_id, event_time: quarantined geofence/gate records naming a zone


def zone_hour_grid(dim_zone: DataFrame, hours: DataFrame) -> DataFrame:
    """Every zone x every hour of `hours` (`hour_start`), with the zone's attributes valid at that hour."""
    z = dim_zone.alias("z")
    return hours.join(z, zones_at(z, F.col("hour_start"))).select(
        "hour_start", "z.zone_id", "z.zone_type", "z.operator", "z.city", "z.capacity", "z.is_gated")


def _count(condition: Column) -> Column:
    return F.count(F.when(condition, True))


def search_metrics(searches: DataFrame) -> DataFrame:
    outcome = F.col("outcome")
    parked_circling = F.when(outcome == "parked", F.col("circling_seconds"))
    return searches.groupBy("zone_id", hour_of(F.col("zone_entry_at")).alias("hour_start")).agg(
        _count(outcome != "no_search").alias("searches_started"), _count(outcome == "parked").alias("parked"),
        _count(outcome == "abandoned").alias("abandoned"), _count(outcome == "timed_out").alias("timed_out"),
        _count(outcome == "no_search").alias("no_search"),
        F.avg(parked_circling).alias("circling_seconds_avg"), F.min(parked_circling).alias("circling_seconds_min"),
        F.max(parked_circling).alias("circling_seconds_max"),
        F.percentile(parked_circling, 0.5).alias("circling_seconds_p50"),
        F.percentile(parked_circling, 0.9).alias("circling_seconds_p90"))


def gate_metrics(gate_events: DataFrame) -> DataFrame:
    kind, status = F.col("event_type"), F.col("payment_status")
    completed = (kind == "PAYMENT") & (status == "COMPLETED")
    refunded = (kind == "PAYMENT") & (status == "REFUNDED")
    revenue = F.when(completed, F.col("amount")).when(refunded, -F.col("amount"))
    return gate_events.groupBy("zone_id", hour_of(F.col("event_time")).alias("hour_start")).agg(
        F.coalesce(F.sum(revenue), F.lit(0.0)).alias("revenue"),
        _count(completed).alias("payments_completed"), _count(refunded).alias("refunds"),
        _count(kind == "VEHICLE_ENTRY").alias("gate_entries"), _count(kind == "VEHICLE_EXIT").alias("gate_exits"))


def _per_hour(events: DataFrame, name: str) -> DataFrame:
    return events.groupBy("zone_id", hour_of(F.col("event_time")).alias("hour_start")).agg(F.count("*").alias(name))


def occupancy_metrics(inputs: HourlyInputs, timezone: str, estimate_interval: float) -> DataFrame:
    """Per zone-hour: `occupied_avg/peak/low/high` of every vehicle (gates; the all-driver estimate at
    streets), `app_occupied_avg` (app users' stays, every zone), `app_penetration`, `occupancy_source`
    and `open_ended_stays`."""
    grid, keys = inputs.zone_hours, ["zone_id", "hour_start"]
    app = hourly_occupancy(inputs.session_stays, grid).withColumnsRenamed(
        {"occupied_avg": "app_occupied_avg", "occupied_peak": "app_occupied_peak"})
    gated = hourly_occupancy(inputs.gate_stays, grid.filter("is_gated")).select(
        *keys, "occupied_avg", "occupied_peak", F.col("occupied_avg").alias("occupied_low"),
        F.col("occupied_avg").alias("occupied_high"), F.lit(None).cast("double").alias("app_penetration"),
        F.lit(GATE).alias("occupancy_source"))
    street_app = grid.filter("NOT is_gated").select(*keys, "city", "capacity").join(app, keys)
    street = all_driver_estimate(street_app, inputs.penetration, timezone, estimate_interval)
    return (gated.unionByName(street).join(app.select(*keys, "app_occupied_avg"), keys, "left")
            .join(open_ended_stays(inputs.session_stays, grid), keys, "left"))


def zone_metrics_hourly(inputs: HourlyInputs, timezone: str, estimate_interval: float = 0.8) -> DataFrame:
    grid = inputs.zone_hours
    keys = ["zone_id", "hour_start"]
    joined = (grid.join(search_metrics(inputs.searches), keys, "left")
              .join(occupancy_metrics(inputs, timezone, estimate_interval), keys, "left")
              .join(gate_metrics(inputs.gate_events), keys, "left")
              .join(_per_hour(inputs.zone_events, "events_received"), keys, "left")
              .join(_per_hour(inputs.quarantined, "events_quarantined"), keys, "left"))
    zero = F.lit(0).cast("bigint")
    counts = ("searches_started", "parked", "abandoned", "timed_out", "no_search", "payments_completed", "refunds",
              "gate_entries", "gate_exits", "events_received", "events_quarantined", "open_ended_stays")
    for c in counts:
        joined = joined.withColumn(c, F.coalesce(F.col(c), zero).cast("bigint"))
    expected = F.col("events_received") + F.col("events_quarantined")
    hour = F.col("hour_start")
    return joined.select(
        "zone_id", "hour_start", date_key(hour, timezone).alias("date_key"), hour_key(hour, timezone).alias("hour_key"),
        "zone_type", "operator", "capacity", "searches_started", "parked", "abandoned", "timed_out", "no_search",
        "circling_seconds_avg", "circling_seconds_min", "circling_seconds_max", "circling_seconds_p50",
        "circling_seconds_p90", "occupied_avg", "occupied_peak",
        (F.col("occupied_avg") / F.col("capacity")).alias("occupancy_rate"),
        (F.col("occupied_peak") / F.col("capacity")).alias("peak_occupancy_rate"), "occupancy_source",
        (F.col("occupied_low") / F.col("capacity")).alias("occupancy_rate_low"),
        (F.col("occupied_high") / F.col("capacity")).alias("occupancy_rate_high"),
        "app_occupied_avg", "app_penetration", "open_ended_stays",
        F.coalesce("revenue", F.lit(0.0)).alias("revenue"), "payments_completed", "refunds", "gate_entries",
        "gate_exits", "events_received", "events_quarantined",
        F.when(expected > 0, F.col("events_received") / expected).alias("data_completeness"),
        local_date(hour, timezone).alias("metric_date"),
    )
