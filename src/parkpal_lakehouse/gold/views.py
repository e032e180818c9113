"""Analyst views over the gold tables (created with the tables; recreated at every local session
start because the local catalog lives in memory, and by the hourly job on Databricks)."""

from __future__ import annotations

from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.io.delta import table_exists
from parkpal_lakehouse.names import DIM_DATE, DIM_HOUR, DIM_ZONE, ZONE_METRICS_HOURLY

V_ZONE_DAILY = "gold.v_zone_daily"
V_BUSIEST_ZONES = "gold.v_busiest_zones"
V_CIRCLING_TREND = "gold.v_circling_trend"
V_OCCUPANCY_HEATMAP = "gold.v_occupancy_heatmap"


def view_sql(config: LakehouseConfig) -> dict[str, str]:
    """Logical view name -> its SELECT, with this environment's physical table names."""
    m, d, h, z = (config.table_name(t) for t in (ZONE_METRICS_HOURLY, DIM_DATE, DIM_HOUR, DIM_ZONE))
    daily = config.table_name(V_ZONE_DAILY)
    return {
        # One row per zone and local day: searches, circling weighted by parked searches, occupancy (all
        # vehicles: gates, or the street all-driver estimate with its interval; and app users only).
        V_ZONE_DAILY: f"""
SELECT m.zone_id, z.name AS zone_name, m.zone_type, m.operator, d.date, d.day_name, d.is_weekend, d.is_holiday,
       SUM(m.searches_started) AS searches_started, SUM(m.parked) AS parked, SUM(m.abandoned) AS abandoned,
       SUM(m.circling_seconds_avg * m.parked) / NULLIF(SUM(CASE WHEN m.circling_seconds_avg IS NOT NULL
           THEN m.parked END), 0) AS circling_seconds_avg,
       AVG(m.occupancy_rate) AS occupancy_rate_avg, MAX(m.peak_occupancy_rate) AS peak_occupancy_rate,
       AVG(m.occupancy_rate_low) AS occupancy_rate_low_avg, AVG(m.occupancy_rate_high) AS occupancy_rate_high_avg,
       AVG(m.app_occupied_avg / m.capacity) AS app_occupancy_rate_avg,
       MIN_BY(m.occupancy_source, m.occupancy_source = 'app_sessions') AS occupancy_source, SUM(m.revenue) AS revenue,
       SUM(m.gate_entries) AS gate_entries, COUNT(*) AS hours
FROM {m} m
JOIN {d} d ON d.date_key = m.date_key
JOIN {z} z ON z.zone_id = m.zone_id AND z.is_current
GROUP BY m.zone_id, z.name, m.zone_type, m.operator, d.date, d.day_name, d.is_weekend, d.is_holiday""",
        # Zones ranked by average occupancy over their last 7 days of data.
        V_BUSIEST_ZONES: f"""
SELECT zone_id, zone_name, zone_type, operator, AVG(occupancy_rate_avg) AS occupancy_rate_avg,
       MAX(peak_occupancy_rate) AS peak_occupancy_rate, SUM(searches_started) AS searches_started,
       SUM(circling_seconds_avg * parked) / NULLIF(SUM(parked), 0) AS circling_seconds_avg,
       RANK() OVER (ORDER BY AVG(occupancy_rate_avg) DESC) AS busiest_rank
FROM {daily}
WHERE date > (SELECT MAX(date) FROM {daily}) - INTERVAL 7 DAYS
GROUP BY zone_id, zone_name, zone_type, operator""",
        # Daily circling per zone with its 7-day moving average.
        V_CIRCLING_TREND: f"""
SELECT zone_id, zone_name, zone_type, date, circling_seconds_avg, parked,
       AVG(circling_seconds_avg) OVER (PARTITION BY zone_id ORDER BY date
                                       ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS circling_seconds_7d_avg
FROM {daily}""",
        # Occupancy by local hour of day x weekday, per zone type (the revenue page's heat map).
        V_OCCUPANCY_HEATMAP: f"""
SELECT m.zone_type, m.operator, d.day_of_week, d.day_name, m.hour_key, h.hour_label,
       AVG(m.occupancy_rate) AS occupancy_rate_avg, SUM(m.revenue) AS revenue
FROM {m} m
JOIN {d} d ON d.date_key = m.date_key
JOIN {h} h ON h.hour_key = m.hour_key
GROUP BY m.zone_type, m.operator, d.day_of_week, d.day_name, m.hour_key, h.hour_label""",
    }


def create_views(spark: SparkSession, config: LakehouseConfig) -> list[str]:
    """CREATE OR REPLACE every analyst view whose tables exist; returns their names."""
    if not all(table_exists(spark, config, t) for t in (ZONE_METRICS_HOURLY, DIM_DATE, DIM_HOUR, DIM_ZONE)):
        return []
    created = []
    for logical, select in view_sql(config).items():
        name = config.table_name(logical)
        spark.sql(f"CREATE OR REPLACE VIEW {name} AS {select}")
        created.append(name)
    return created
