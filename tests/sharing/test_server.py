"""The Delta Sharing server with the official `delta-sharing` client, over a published small city.

Each recipient's profile file is the one `parkpal share serve` writes; every shared table is read with
`load_as_pandas` and compared with gold filtered to the recipient's zones. Security: no, wrong,
expired or rotated tokens are refused, a recipient reaches only its own share, only gold tables exist
on the server, and no shared value is a user id, licence plate, user key or session id.
"""

from __future__ import annotations

import csv
import json
import re
import time
from datetime import UTC, datetime, timedelta

import delta_sharing
import pandas as pd
import pytest
import requests

from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.sharing.definition import ShareDefinition
from parkpal_lakehouse.sharing.local import token_store
from parkpal_lakehouse.sharing.profiles import rotate_profile
from parkpal_lakehouse.sharing.publish import gold_source, recipient_zone_ids, shared_rows

pytestmark = pytest.mark.integration


def _canonical(df: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as comparable tuples: UTC-naive timestamps, NaN as None, sorted."""
    out = df[columns].copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.floor("us").astype(str)
    rows = [tuple(None if (isinstance(v, float) and v != v) else v for v in r) for r in
            out.astype(object).itertuples(index=False)]
    return sorted(rows, key=repr)


def test_every_shared_table_reads_with_the_official_client_and_matches_gold(spark, sharing):
    config, definition, local = sharing
    dim_zone = read_table(spark, config, "gold.dim_zone")
    for recipient in definition.recipients:
        profile = str(local.profiles[recipient.name])
        zone_ids = recipient_zone_ids(dim_zone, recipient)
        expected_zones = {r.zone_id for r in zone_ids.collect()}
        assert expected_zones, f"{recipient.name} has zones in the small city"
        for table in definition.tables:
            got = delta_sharing.load_as_pandas(f"{profile}#{recipient.share}.gold.{table.name}")
            expected = shared_rows(gold_source(spark, config, table), table, zone_ids).toPandas()
            assert list(got.columns) == list(table.columns)
            assert len(got) == len(expected), (recipient.name, table.name)
            assert _canonical(got, list(table.columns)) == _canonical(expected, list(table.columns)), table.name
            if table.zone_scoped and len(got):
                assert set(got["zone_id"]) <= expected_zones
        metrics = delta_sharing.load_as_pandas(f"{profile}#{recipient.share}.gold.zone_metrics_hourly")
        assert len(metrics) > 0 and set(metrics["zone_id"]) == expected_zones


def test_the_profile_file_lists_exactly_its_share(sharing):
    _, definition, local = sharing
    recipient = definition.recipient("makati-city")
    raw = json.loads(local.profiles["makati-city"].read_text())
    assert set(raw) == {"shareCredentialsVersion", "endpoint", "bearerToken", "expirationTime"}
    assert raw["endpoint"] == local.server.endpoint
    client = delta_sharing.SharingClient(str(local.profiles["makati-city"]))
    assert [s.name for s in client.list_shares()] == [recipient.share]
    assert sorted(t.name for t in client.list_all_tables()) == sorted(t.name for t in definition.tables)
    assert {t.schema for t in client.list_all_tables()} == {"gold"}


def _get(local, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(local.server.endpoint + path, headers=headers, timeout=30)


def _token(local, recipient: str) -> str:
    return json.loads(local.profiles[recipient].read_text())["bearerToken"]


@pytest.mark.parametrize("path", ["/shares", "/shares/parkpal_makati_city/all-tables",
                                  "/shares/parkpal_makati_city/schemas/gold/tables/dim_zone/version"])
def test_requests_without_or_with_a_wrong_token_are_refused(sharing, path):
    _, _, local = sharing
    for token, message in ((None, "missing bearer token"), ("wrong", "invalid bearer token"),
                           (_token(local, "taguig-city") + "x", "invalid bearer token")):
        response = _get(local, path, token)
        assert response.status_code == 401, (path, token)
        assert response.json()["errorCode"] == "UNAUTHENTICATED"
        assert response.json()["message"].startswith(message)
    assert _get(local, path, _token(local, "makati-city")).status_code == 200


def test_an_expired_token_is_refused(sharing, tmp_path):
    config, definition, local = sharing
    store = token_store(config)
    token, expires = store.issue("expired-recipient", timedelta(days=1), now=datetime.now(UTC) - timedelta(days=2))
    response = _get(local, "/shares", token)
    assert response.status_code == 401 and "expired" in response.json()["message"]
    profile = tmp_path / "expired.share"
    profile.write_text(json.dumps({"shareCredentialsVersion": 1, "endpoint": local.server.endpoint,
                                   "bearerToken": token, "expirationTime": expires.isoformat()}))
    with pytest.raises(requests.HTTPError, match="401"):
        delta_sharing.SharingClient(str(profile)).list_shares()


def test_a_recipient_reaches_only_its_own_share(sharing):
    _, definition, local = sharing
    makati = str(local.profiles["makati-city"])
    taguig_share = definition.recipient("taguig-city").share
    token = _token(local, "makati-city")
    for path in (f"/shares/{taguig_share}", f"/shares/{taguig_share}/schemas", f"/shares/{taguig_share}/all-tables",
                 f"/shares/{taguig_share}/schemas/gold/tables/zone_metrics_hourly/metadata"):
        response = _get(local, path, token)
        assert response.status_code == 403 and response.json()["errorCode"] == "PERMISSION_DENIED", path
    query = requests.post(f"{local.server.endpoint}/shares/{taguig_share}/schemas/gold/tables/dim_zone/query",
                          headers={"Authorization": f"Bearer {token}"}, json={}, timeout=30)
    assert query.status_code == 403
    with pytest.raises(requests.HTTPError, match="403"):
        delta_sharing.load_as_pandas(f"{makati}#{taguig_share}.gold.dim_zone")


@pytest.mark.parametrize("table", ["bronze.activity_events_raw", "silver.parking_sessions", "silver.quarantine",
                                   "gold.quarantine", "ops.quality_results", "gold.dim_hour"])
def test_only_the_defined_gold_tables_exist_on_the_server(sharing, table):
    _, definition, local = sharing
    share = definition.recipient("makati-city").share
    schema, name = table.split(".")
    response = _get(local, f"/shares/{share}/schemas/{schema}/tables/{name}/metadata", _token(local, "makati-city"))
    assert response.status_code == 404 and response.json()["errorCode"] == "RESOURCE_DOES_NOT_EXIST"
    schemas = _get(local, f"/shares/{share}/schemas", _token(local, "makati-city")).json()["items"]
    assert [s["name"] for s in schemas] == ["gold"]


def test_shared_tables_carry_no_user_ids_plates_user_keys_or_session_ids(spark, sharing, small_city):
    config, definition, local = sharing
    with open(small_city.root / "reference" / "vehicles.csv") as fh:
        vehicles = list(csv.DictReader(fh))
    sessions = read_table(spark, config, "gold.fact_parking_sessions").select("user_key", "session_id").collect()
    gates = read_table(spark, config, "gold.fact_gate_sessions").select("plate_key", "visit_id").collect()
    secrets = ({v["licensePlate"] for v in vehicles} | {v["licensePlate"].replace(" ", "") for v in vehicles}
               | {r.user_key for r in sessions} | {r.session_id for r in sessions}
               | {r.plate_key for r in gates} | {r.visit_id for r in gates}) - {None}
    user_ids = {int(v["userId"]) for v in vehicles}
    assert len(secrets) > 100 and len(user_ids) > 100
    identifying = re.compile(r"user|plate|licen|session_id|visit_id|device", re.IGNORECASE)
    for recipient in definition.recipients:
        for table in definition.tables:
            df = delta_sharing.load_as_pandas(f"{local.profiles[recipient.name]}#{recipient.share}.gold.{table.name}")
            assert not [c for c in df.columns if identifying.search(c)], table.name
            for column in df.columns:
                values = set(df[column].dropna().astype(str))
                assert not values & secrets, (table.name, column)
                if pd.api.types.is_integer_dtype(df[column]):
                    assert not set(df[column]) & user_ids or column in {"date_key", "zone_id"}, (table.name, column)


def test_file_urls_are_signed_and_expire(sharing):
    _, definition, local = sharing
    share = definition.recipient("makati-city").share
    response = requests.post(f"{local.server.endpoint}/shares/{share}/schemas/gold/tables/dim_zone/query",
                             headers={"Authorization": f"Bearer {_token(local, 'makati-city')}"}, json={}, timeout=30)
    lines = [json.loads(line) for line in response.text.splitlines()]
    url = next(line["file"]["url"] for line in lines if "file" in line)
    assert requests.get(url, timeout=30).status_code == 200
    ranged = requests.get(url, headers={"Range": "bytes=0-3"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == b"PAR1"
    token = url.split("/files/")[1].split("/")[0]
    body, signature = token.split(".")
    tampered = url.replace(token, f"{body}.{'0' * len(signature)}")
    assert requests.get(tampered, timeout=30).status_code == 403
    service = local.server.service
    path = next(p for p in (local.server.service.tables_root / share / "dim_zone").glob("*.parquet"))
    expired = service.file_url(share, "dim_zone", str(path), int(time.time()) - 1)
    refused = requests.get(expired, timeout=30)
    assert refused.status_code == 403 and "expired" in refused.json()["message"]


def test_a_rotated_token_stops_working_at_once(sharing):
    config, definition, local = sharing
    old = _token(local, "taguig-city")
    assert _get(local, "/shares", old).status_code == 200
    path = rotate_profile(token_store(config), definition, local.profiles["taguig-city"].parent, "taguig-city",
                          local.server.endpoint, timedelta(days=1))
    assert _get(local, "/shares", old).status_code == 401
    client = delta_sharing.SharingClient(str(path))
    assert [s.name for s in client.list_shares()] == [definition.recipient("taguig-city").share]


def test_a_new_publish_is_a_new_version_and_old_versions_stay_readable(spark, sharing):
    config, definition, local = sharing
    recipient = definition.recipient("makati-city")
    profile = str(local.profiles["makati-city"])
    url = f"{profile}#{recipient.share}.gold.dim_zone"
    before = delta_sharing.get_table_version(url)
    from parkpal_lakehouse.sharing.publish import publish_shares

    only_zones = ShareDefinition(tuple(t for t in definition.tables if t.name == "dim_zone"), (recipient,))
    publish_shares(spark, config, only_zones, ["makati-city"])
    assert delta_sharing.get_table_version(url) == before + 1
    old = delta_sharing.load_as_pandas(url, version=before)
    new = delta_sharing.load_as_pandas(url)
    assert len(old) == len(new) > 0


def test_requests_the_server_cannot_answer_are_clear_errors(sharing):
    _, definition, local = sharing
    share = definition.recipient("makati-city").share
    headers = {"Authorization": f"Bearer {_token(local, 'makati-city')}"}
    query = f"{local.server.endpoint}/shares/{share}/schemas/gold/tables/dim_zone/query"
    changes = requests.post(query, headers=headers, json={"startingVersion": 0}, timeout=30)
    assert changes.status_code == 400 and "startingVersion" in changes.json()["message"]
    not_json = requests.post(query, headers=headers, data="{", timeout=30)
    assert not_json.status_code == 400 and not_json.json()["errorCode"] == "MALFORMED_REQUEST"
    missing = requests.post(query, headers=headers, json={"version": 999}, timeout=30)
    assert missing.status_code == 400 and "version 999" in missing.json()["message"]
