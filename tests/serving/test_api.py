"""The REST API on a real uvicorn server over a copy of the small city's gold, as a caller and as an
attacker: tokens, other operators' zones, hostile values, paging, refresh after a new micro-batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import requests

from parkpal_lakehouse.forecasting.schemas import ZONE_OCCUPANCY_FORECAST_DDL
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.io.writers import append_rows, overwrite_once
from parkpal_lakehouse.names import DIM_ZONE, ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST, ZONE_STATUS
from parkpal_lakehouse.serving.api import start_api
from parkpal_lakehouse.sharing.definition import load_definition
from parkpal_lakehouse.sharing.local import token_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(spark, gold_city, tmp_path_factory):
    """A copy of the gold city with two scored forecast hours per zone, a token for one operator, the API."""
    from conftest import copy_city

    gold_root = gold_city[0].storage_root
    config = copy_city(Path(gold_root), tmp_path_factory.mktemp("api") / "city")
    zones = read_table(spark, config, DIM_ZONE).where("is_current").toPandas()
    made = datetime(2026, 11, 5, 0, 0)
    forecasts = pd.DataFrame([
        {"zone_id": z, "forecast_made_at": made, "target_hour": made + timedelta(hours=h - 1), "horizon_hours": h,
         "predicted_occupancy_rate": 0.1 * h, "lower_occupancy_rate": 0.05 * h, "upper_occupancy_rate": 0.15 * h,
         "predicted_occupied": 0.1 * h * c, "capacity": float(c), "model_name": "m", "model_version": "3",
         "scored_at": made, "forecast_date": made.date()}
        for z, c in zip(zones.zone_id, zones.capacity, strict=True) for h in (1, 2)])
    append_rows(spark.createDataFrame(forecasts, ZONE_OCCUPANCY_FORECAST_DDL), config, ZONE_OCCUPANCY_FORECAST)
    definition = load_definition()
    operator = zones.operator.value_counts().index[0]
    recipient = next(r for r in definition.recipients if r.zone_column == "operator" and r.zone_value == operator)
    store = token_store(config)
    token, _ = store.issue(recipient.name)
    running = start_api(spark, config, definition, store, refresh_seconds=3600)  # refreshed by hand below
    mine = set(zones[zones.operator == operator].zone_id)
    theirs = set(zones.zone_id) - mine
    assert mine and theirs
    yield SimpleNamespace(running=running, config=config, token=token, mine=sorted(mine), theirs=sorted(theirs),
                          recipient=recipient.name)
    running.stop()


def get(running, path: str, token: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(running.server.url + path, headers=headers, params=params, timeout=30)


def test_every_data_endpoint_refuses_missing_wrong_and_rotated_tokens(api):
    zone = api.mine[0]
    paths = ["/zones", f"/zones/{zone}/status", f"/zones/{zone}/forecast",
             f"/zones/{zone}/metrics?from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z"]
    for path in paths:
        for bad in (None, "not-a-token", api.token + "x", "' OR '1'='1"):
            r = get(api.running, path, bad)
            assert r.status_code == 401, (path, bad, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
            assert api.token not in r.text
        r = requests.get(api.running.server.url + path, headers={"Authorization": f"Basic {api.token}"}, timeout=30)
        assert r.status_code == 401
        assert get(api.running, path, api.token).status_code == 200, path
    new, _ = token_store(api.config).issue(api.recipient)  # rotation: the old token stops at once
    assert get(api.running, "/zones", api.token).status_code == 401
    assert get(api.running, "/zones", new).status_code == 200
    api.token = new


def test_other_operators_zones_are_refused_like_zones_that_do_not_exist(api):
    running, token, mine, theirs = api.running, api.token, api.mine, api.theirs
    listed = get(running, "/zones", token).json()
    assert sorted(z["zone_id"] for z in listed["zones"]) == mine and listed["total"] == len(mine)
    for zone in (*theirs, 999_999):
        for path in (f"/zones/{zone}/status", f"/zones/{zone}/forecast",
                     f"/zones/{zone}/metrics?from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z"):
            r = get(running, path, token)
            assert r.status_code == 404 and r.json() == {"detail": f"no zone {zone} among yours (GET /zones lists "
                                                                    "them)"}, path


def test_status_forecast_and_metrics_are_the_tables_rows(api, spark):
    running, config, token, mine = api.running, api.config, api.token, api.mine
    zone = mine[0]
    status = get(running, f"/zones/{zone}/status", token).json()
    row = read_table(spark, config, ZONE_STATUS).where(f"zone_id = {zone}").first()
    assert status["vehicles_parked"] == row.vehicles_parked and status["searching_now"] == row.searching_now
    assert status["as_of"] == row.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    forecast = get(running, f"/zones/{zone}/forecast", token, hours=1).json()
    assert forecast["forecast_made_at"] == "2026-11-05T00:00:00Z" and forecast["model_version"] == "3"
    assert [h["horizon_hours"] for h in forecast["hours"]] == [1]
    assert forecast["hours"][0]["predicted_occupancy_rate"] == pytest.approx(0.1)
    assert len(get(running, f"/zones/{zone}/forecast", token).json()["hours"]) == 2
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY).where(f"zone_id = {zone}").orderBy("hour_start")
    hours = [r.hour_start for r in metrics.select("hour_start").collect()]
    start = hours[0].replace(tzinfo=UTC)
    first = get(running, f"/zones/{zone}/metrics", token, page_size=5,
                **{"from": start.isoformat(), "to": (start + timedelta(hours=8)).isoformat()}).json()
    second = get(running, f"/zones/{zone}/metrics", token, page_size=5, page=2,
                 **{"from": start.isoformat(), "to": (start + timedelta(hours=8)).isoformat()}).json()
    got = [h["hour_start"] for h in first["hours"] + second["hours"]]
    assert got == [h.strftime("%Y-%m-%dT%H:%M:%SZ") for h in hours[:8]]
    assert first["next_page"] == 2 and second["next_page"] is None
    expected = metrics.first()
    assert first["hours"][0]["occupied_avg"] == pytest.approx(expected.occupied_avg)
    assert first["hours"][0]["searches_started"] == expected.searches_started


@pytest.mark.parametrize(("path", "status"), [
    ("/zones/1%20OR%201=1/status", 422), ("/zones/-1/status", 422), ("/zones/0/status", 422),
    ("/zones/99999999999999999999999/status", 422), ("/zones/1/forecast?hours=0", 422),
    ("/zones/1/forecast?hours=25", 422), ("/zones/1/forecast?hours=1;DROP", 422),
    ("/zones?page_size=100000", 422), ("/zones?page=0", 422),
    ("/zones/{zone}/metrics?from=2026-11-04T00:00:00Z", 422),
    ("/zones/{zone}/metrics?from=2026-11-04'%20OR%201=1--&to=2026-11-05T00:00:00Z", 422),
    ("/zones/{zone}/metrics?from=2026-11-05T00:00:00Z&to=2026-11-04T00:00:00Z", 400),
    ("/zones/{zone}/metrics?from=2026-01-01T00:00:00Z&to=2026-11-04T00:00:00Z", 400),
    ("/zones/{zone}/metrics?from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z&page_size=501", 422),
])
def test_hostile_and_bad_values_get_a_clear_4xx_and_the_server_keeps_serving(api, path, status):
    running, token, mine = api.running, api.token, api.mine
    r = get(running, path.format(zone=mine[0]), token)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert detail and "Traceback" not in r.text and "spark" not in r.text.lower()
    assert get(running, "/health").json() == {"status": "ok"}


def test_a_new_micro_batch_is_served_after_one_refresh(api, spark):
    running, config, token, mine = api.running, api.config, api.token, api.mine
    zone = mine[0]
    before = get(running, f"/zones/{zone}/status", token).json()
    status = read_table(spark, config, ZONE_STATUS)
    changed = status.selectExpr("*", f"IF(zone_id = {zone}, vehicles_parked + 1, vehicles_parked) AS _v") \
        .drop("vehicles_parked").withColumnRenamed("_v", "vehicles_parked").select(*status.columns)
    overwrite_once(changed.localCheckpoint(), config, ZONE_STATUS, "test-api", 1)
    assert get(running, f"/zones/{zone}/status", token).json() == before  # served from the snapshot
    assert running.cache.refresh() is True and running.cache.refresh() is False
    assert get(running, f"/zones/{zone}/status", token).json()["vehicles_parked"] == before["vehicles_parked"] + 1


def test_openapi_documents_every_endpoint(api):
    running = api.running
    spec = get(running, "/openapi.json").json()
    assert set(spec["paths"]) == {"/health", "/zones", "/zones/{zone_id}/status", "/zones/{zone_id}/forecast",
                                  "/zones/{zone_id}/metrics"}
    assert get(running, "/docs").status_code == 200


def test_the_documented_sql_for_databricks_gives_the_apis_answers(api, spark):
    """docs/api_queries.sql (the SQL Statement Execution API's version of each endpoint), with Spark's named
    parameters, returns what the API answers."""
    from parkpal_lakehouse.steps.catalog import prepare_catalog
    from tests.gold.test_queries import ROOT, statements

    prepare_catalog(spark, api.config)
    zones_sql, status_sql, forecast_sql, metrics_sql = statements(ROOT / "docs" / "api_queries.sql")
    zone = api.mine[0]
    operator = spark.table("gold.dim_zone").where(f"zone_id = {zone} AND is_current").first().operator
    assert [r.zone_id for r in spark.sql(zones_sql, args={"operator": operator}).collect()] == api.mine
    status = spark.sql(status_sql, args={"zone_id": zone}).first()
    served = get(api.running, f"/zones/{zone}/status", api.token).json()
    assert {k: served[k] for k in ("vehicles_parked", "searching_now", "free_spaces", "circling_recent_n")} == \
        {k: status[k] for k in ("vehicles_parked", "searching_now", "free_spaces", "circling_recent_n")}
    forecast = spark.sql(forecast_sql, args={"zone_id": zone, "hours": 1}).collect()
    served = get(api.running, f"/zones/{zone}/forecast", api.token, hours=1).json()
    assert [(r.horizon_hours, r.predicted_occupancy_rate) for r in forecast] == \
        [(h["horizon_hours"], h["predicted_occupancy_rate"]) for h in served["hours"]]
    start = spark.table("gold.zone_metrics_hourly").agg({"hour_start": "min"}).first()[0].replace(tzinfo=UTC)
    end = start + timedelta(hours=6)
    metrics = spark.sql(metrics_sql, args={"zone_id": zone, "from_ts": start, "to_ts": end}).collect()
    served = get(api.running, f"/zones/{zone}/metrics", api.token,
                 **{"from": start.isoformat(), "to": end.isoformat()}).json()
    assert [(r.hour_start.strftime("%Y-%m-%dT%H:%M:%SZ"), r.occupied_avg) for r in metrics] == \
        [(h["hour_start"], pytest.approx(h["occupied_avg"])) for h in served["hours"]]
