-- The REST API's questions (`parkpal api serve`, docs/serving.md) as SQL, for app backends on Databricks:
-- send each through the SQL Statement Execution API with named parameters, never by pasting values in:
--
--   curl -s -X POST "https://$DATABRICKS_HOST/api/2.0/sql/statements" \
--     -H "Authorization: Bearer $DATABRICKS_TOKEN" -H "Content-Type: application/json" -d '{
--       "warehouse_id": "'$WAREHOUSE_ID'", "wait_timeout": "10s", "format": "JSON_ARRAY",
--       "statement": "SELECT * FROM parkpal.gold.zone_status WHERE zone_id = :zone_id",
--       "parameters": [{"name": "zone_id", "value": "5", "type": "BIGINT"}]}'
--
-- Scoping on Databricks: give each backend's service principal SELECT on its share's views (the
-- recipient views of infra/sharing.tf) or a Unity Catalog row filter by operator, as for analysts.
-- tests/serving/test_api.py runs every statement here with Spark's named parameters and compares the
-- rows with the API's answers. One statement per `;`.

-- GET /zones: a backend's zones (here an operator's; a city filters on `city`).
SELECT zone_id, name, city, zone_type, operator, capacity, latitude, longitude
FROM gold.dim_zone
WHERE is_current AND operator = :operator
ORDER BY zone_id;

-- GET /zones/{id}/status: the zone now (rewritten by the streaming job every micro-batch).
SELECT * FROM gold.zone_status WHERE zone_id = :zone_id;

-- GET /zones/{id}/forecast?hours=: the newest forecast made for the zone, 1 to :hours hours ahead.
SELECT target_hour, horizon_hours, predicted_occupancy_rate, lower_occupancy_rate, upper_occupancy_rate,
       predicted_occupied, capacity, forecast_made_at, model_version
FROM gold.zone_occupancy_forecast
WHERE zone_id = :zone_id AND horizon_hours <= :hours
  AND forecast_made_at = (SELECT MAX(forecast_made_at) FROM gold.zone_occupancy_forecast WHERE zone_id = :zone_id)
ORDER BY horizon_hours;

-- GET /zones/{id}/metrics?from=&to=: hourly metrics in [from, to), at most 31 days, 500 rows a page.
SELECT *
FROM gold.zone_metrics_hourly
WHERE zone_id = :zone_id AND hour_start >= :from_ts AND hour_start < :to_ts
  AND metric_date BETWEEN DATE(:from_ts) - INTERVAL 1 DAY AND DATE(:to_ts) + INTERVAL 1 DAY
ORDER BY hour_start
LIMIT 500;
