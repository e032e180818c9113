-- ParkPal gold: worked example queries for analysts.
-- Locally:     parkpal sql "<query>"          (after `make demo`; tables and views are registered)
-- Databricks:  USE CATALOG <catalog>; then the same SQL on a SQL warehouse.
-- Times: hour_start is UTC; date_key / hour_key are Philippine local time (join dim_date / dim_hour).
-- tests/gold/test_queries.py runs every query in this file against a simulated city.

-- 1. Circling trend per zone: daily average circling time and its 7-day moving average.
SELECT zone_name, zone_type, date, ROUND(circling_seconds_avg, 1) AS circling_s,
       ROUND(circling_seconds_7d_avg, 1) AS circling_s_7d, parked
FROM gold.v_circling_trend
ORDER BY zone_name, date;

-- 2. Occupancy heat map: local hour of day x weekday, street zones (the revenue page's heat map).
SELECT hour_label,
       ROUND(AVG(CASE WHEN day_of_week = 1 THEN occupancy_rate_avg END), 3) AS mon,
       ROUND(AVG(CASE WHEN day_of_week = 2 THEN occupancy_rate_avg END), 3) AS tue,
       ROUND(AVG(CASE WHEN day_of_week = 3 THEN occupancy_rate_avg END), 3) AS wed,
       ROUND(AVG(CASE WHEN day_of_week = 4 THEN occupancy_rate_avg END), 3) AS thu,
       ROUND(AVG(CASE WHEN day_of_week = 5 THEN occupancy_rate_avg END), 3) AS fri,
       ROUND(AVG(CASE WHEN day_of_week = 6 THEN occupancy_rate_avg END), 3) AS sat,
       ROUND(AVG(CASE WHEN day_of_week = 7 THEN occupancy_rate_avg END), 3) AS sun
FROM gold.v_occupancy_heatmap
WHERE zone_type = 'STREET'
GROUP BY hour_key, hour_label
ORDER BY hour_key;

-- 3. Revenue per operator and day (completed payments net of refunds), with paid visits.
SELECT m.operator, d.date, d.day_name, d.is_holiday, ROUND(SUM(m.revenue), 2) AS revenue_php,
       SUM(m.payments_completed) AS payments, SUM(m.refunds) AS refunds
FROM gold.zone_metrics_hourly m
JOIN gold.dim_date d ON d.date_key = m.date_key
WHERE m.occupancy_source = 'gate'
GROUP BY m.operator, d.date, d.day_name, d.is_holiday
ORDER BY m.operator, d.date;

-- 4. The busiest zones of the last 7 days of data.
SELECT busiest_rank, zone_name, zone_type, operator, ROUND(occupancy_rate_avg, 3) AS occupancy,
       ROUND(peak_occupancy_rate, 3) AS peak, ROUND(circling_seconds_avg, 1) AS circling_s
FROM gold.v_busiest_zones
ORDER BY busiest_rank
LIMIT 10;

-- 5. Competitor view: circling time against occupancy per zone (the scatter on the dashboard).
SELECT zone_id, zone_type, operator, ROUND(AVG(occupancy_rate), 3) AS occupancy,
       ROUND(SUM(circling_seconds_avg * parked) / NULLIF(SUM(CASE WHEN circling_seconds_avg IS NOT NULL THEN parked END), 0), 1)
           AS circling_s
FROM gold.zone_metrics_hourly
GROUP BY zone_id, zone_type, operator
ORDER BY occupancy DESC;

-- 6. Peak hours: local hours where street parking is hardest to find (circling p90 over the period).
SELECT h.hour_label, h.day_part, ROUND(AVG(m.circling_seconds_p90), 1) AS circling_p90_s,
       ROUND(AVG(m.occupancy_rate), 3) AS occupancy, SUM(m.searches_started) AS searches
FROM gold.zone_metrics_hourly m
JOIN gold.dim_hour h ON h.hour_key = m.hour_key
WHERE m.zone_type = 'STREET'
GROUP BY h.hour_key, h.hour_label, h.day_part
ORDER BY circling_p90_s DESC NULLS LAST
LIMIT 5;

-- 7. Gate data health: visits without a matching entry or exit, per zone and day.
SELECT zone_id, entry_date, visit_status, COUNT(*) AS visits, ROUND(AVG(duration_minutes), 1) AS avg_minutes
FROM gold.fact_gate_sessions
GROUP BY zone_id, entry_date, visit_status
ORDER BY zone_id, entry_date, visit_status;

-- 8. Search outcomes by zone type, working days against weekends and holidays.
SELECT z.zone_type, d.is_working_day, f.outcome, COUNT(*) AS searches,
       ROUND(AVG(f.circling_seconds), 1) AS circling_s
FROM gold.fact_parking_sessions f
JOIN gold.dim_date d ON d.date_key = f.date_key
JOIN gold.dim_zone z ON z.zone_id = f.zone_id AND f.zone_entry_at >= z.valid_from
                    AND (z.valid_to IS NULL OR f.zone_entry_at < z.valid_to)
GROUP BY z.zone_type, d.is_working_day, f.outcome
ORDER BY z.zone_type, d.is_working_day, f.outcome;

-- 9. Street occupancy: the all-driver estimate with its 80% interval beside what app users alone show
--    (occupancy_source says which: 'app_scaled_estimate', or 'app_sessions' where a city has no car park
--    data to calibrate with), and the app penetration it was scaled by.
SELECT m.zone_id, d.date, m.occupancy_source, ROUND(AVG(m.occupancy_rate), 3) AS occupancy_all_vehicles,
       ROUND(AVG(m.occupancy_rate_low), 3) AS low_80, ROUND(AVG(m.occupancy_rate_high), 3) AS high_80,
       ROUND(AVG(m.app_occupied_avg / m.capacity), 3) AS occupancy_app_users,
       ROUND(AVG(m.app_penetration), 3) AS app_penetration, SUM(m.open_ended_stays) AS stays_without_departure
FROM gold.zone_metrics_hourly m
JOIN gold.dim_date d ON d.date_key = m.date_key
WHERE m.zone_type = 'STREET'
GROUP BY m.zone_id, d.date, m.occupancy_source
ORDER BY m.zone_id, d.date;
