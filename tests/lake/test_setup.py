"""The lake commands' SDK calls, checked at the HTTP boundary (ADLS Gen2 cannot run here)."""

from __future__ import annotations

import os

import pytest

from parkpal_lakehouse.config import HUBS, LAKE_CONTAINERS
from parkpal_lakehouse.contracts.reference import sample_reference_dir
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.lake.layout import LakeRoles, container_acl
from parkpal_lakehouse.lake.setup import (
    account_url,
    init_lake,
    lake_service,
    lake_status,
    resolve_credential,
    upload_reference,
)
from tests.support.adls import FakeAdls

ROLES = LakeRoles(engineers="11111111-1111-1111-1111-111111111111", analysts="22222222-2222-2222-2222-222222222222",
                  streaming="33333333-3333-3333-3333-333333333333")
KEY = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"


@pytest.fixture
def adls() -> FakeAdls:
    return FakeAdls()


def _service(adls: FakeAdls):
    return lake_service("parkpaldevlake", {"account_name": "parkpaldevlake", "account_key": KEY}, transport=adls)


def test_init_creates_file_systems_directories_and_acls_per_role(adls):
    report = init_lake(_service(adls), ROLES)
    assert adls.file_systems == set(LAKE_CONTAINERS)
    assert {p for (fs, p), e in adls.paths.items() if fs == "landing" and e["dir"]} == {*HUBS, "reference"}
    creates = [r for r in adls.requests if r.query.get("restype") == "container"]
    assert [r.path for r in creates] == [f"/{c}" for c in LAKE_CONTAINERS]
    assert all(r.host == "parkpaldevlake.blob.core.windows.net" for r in creates)
    dirs = [r for r in adls.requests if r.query.get("resource") == "directory"]
    assert all(r.headers.get("If-None-Match") == "*" for r in dirs)  # never overwrite what exists
    acl_calls = {r.path.strip("/"): r.headers["x-ms-acl"] for r in adls.requests
                 if r.query.get("action") == "setAccessControlRecursive"}
    assert acl_calls == {c: container_acl(c, ROLES) for c in LAKE_CONTAINERS}
    assert all(r.query.get("mode") == "modify" for r in adls.requests
               if r.query.get("action") == "setAccessControlRecursive")
    assert set(report.created) == set(LAKE_CONTAINERS) | {f"landing/{d}" for d in (*HUBS, "reference")}
    assert report.existing == []


def test_acls_follow_the_roles():
    gold, bronze, landing = (container_acl(c, ROLES) for c in ("gold", "bronze", "landing"))
    assert f"group:{ROLES.analysts}:r-x" in gold and f"default:group:{ROLES.analysts}:r-x" in gold
    assert ROLES.analysts not in bronze and ROLES.analysts not in landing
    assert f"group:{ROLES.engineers}:rwx" in bronze and f"group:{ROLES.engineers}:r-x" in gold
    assert f"group:{ROLES.streaming}:rwx" in landing and "other::---" in landing
    with pytest.raises(ConfigError, match="--analysts must be an Entra ID object id"):
        LakeRoles(engineers=ROLES.engineers, analysts="analysts", streaming=ROLES.streaming)


def test_init_again_is_idempotent_409s_are_fine_and_acls_are_reapplied(adls):
    service = _service(adls)
    init_lake(service, ROLES)
    first = len(adls.requests)
    again = init_lake(service, ROLES)
    assert again.created == []
    assert set(again.existing) == set(LAKE_CONTAINERS) | {f"landing/{d}" for d in (*HUBS, "reference")}
    replies = adls.requests[first:]
    assert sum(r.query.get("action") == "setAccessControlRecursive" for r in replies) == len(LAKE_CONTAINERS)


def test_upload_reference_and_status_report_sizes(adls):
    service = _service(adls)
    init_lake(service, ROLES)
    folder = sample_reference_dir()
    assert upload_reference(service, folder) == ["landing/reference/zones.csv", "landing/reference/vehicles.csv"]
    assert adls.paths[("landing", "reference/zones.csv")]["data"] == (folder / "zones.csv").read_bytes()
    status = {s.container: s for s in lake_status(service)}
    size = sum((folder / n).stat().st_size for n in ("zones.csv", "vehicles.csv"))
    assert (status["landing"].files, status["landing"].bytes) == (2, size)
    assert status["gold"].exists and status["gold"].files == 0


def test_status_of_a_missing_container(adls):
    status = lake_status(_service(adls))
    assert [s.exists for s in status] == [False] * len(LAKE_CONTAINERS)


def test_arguments_are_checked():
    assert account_url("parkpaldevlake") == "https://parkpaldevlake.dfs.core.windows.net"
    with pytest.raises(ConfigError, match="storage account name"):
        account_url("Park_Pal")
    with pytest.raises(ConfigError, match="'default' or 'env:VARIABLE'"):
        resolve_credential("hunter2")
    with pytest.raises(ConfigError, match="PARKPAL_NOPE is not set"):
        resolve_credential("env:PARKPAL_NOPE")


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("PARKPAL_LIVE_ADLS_ACCOUNT"),
                    reason="live ADLS test: set PARKPAL_LIVE_ADLS_ACCOUNT (and az login / a service principal)")
def test_live_init_and_status():
    service = lake_service(os.environ["PARKPAL_LIVE_ADLS_ACCOUNT"], resolve_credential("default"))
    roles = LakeRoles(os.environ["PARKPAL_LIVE_ENGINEERS"], os.environ["PARKPAL_LIVE_ANALYSTS"],
                      os.environ["PARKPAL_LIVE_STREAMING"])
    init_lake(service, roles)
    assert {s.container for s in lake_status(service) if s.exists} == set(LAKE_CONTAINERS)
