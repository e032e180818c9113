"""The sharing server as an attacker holding a valid token sees it: hostile field values, headers and paths.

A planted secret (a JVM system property, as an environment secret is reachable through Spark's
`reflect`), another recipient's bearer token and the city's licence plates must never appear in any
answer; no request may produce a 500 or an engine's error text. Request fields are parsed into typed
values (an integer version, an ISO instant) before anything reaches Delta.
"""

from __future__ import annotations

import csv
import http.client
import json
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkpal_lakehouse.sharing.server import parse_query_request

pytestmark = pytest.mark.integration
PLANTED = "planted-secret-3f9a1c7e55d0"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def target(spark, sharing, small_city):
    _, definition, local = sharing
    spark._jvm.java.lang.System.setProperty("parkpal.planted.secret", PLANTED)
    with open(small_city.root / "reference" / "vehicles.csv") as fh:
        plates = {v["licensePlate"] for v in csv.DictReader(fh)}
    tokens = {n: json.loads(p.read_text())["bearerToken"] for n, p in local.profiles.items()}
    share = definition.recipient("makati-city").share
    secrets = {PLANTED, tokens["taguig-city"], str(local.server.service.tables_root)} | plates
    yield local, share, tokens["makati-city"], secrets
    spark._jvm.java.lang.System.clearProperty("parkpal.planted.secret")


def raw(local, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
    """One request with exactly these headers (no client fills or fixes any)."""
    url = urlparse(local.server.endpoint)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.putrequest(method, url.path + path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def query(target, body: bytes, headers: dict[str, str] | None = None, table: str = "dim_zone") -> tuple[int, bytes]:
    local, share, token, _ = target
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "Content-Length": str(len(body)), **(headers or {})}
    return raw(local, "POST", f"/shares/{share}/schemas/gold/tables/{table}/query", sent, body)


def assert_safe(target, status: int, answer: bytes) -> None:
    assert status < 500, answer[:300]
    text = answer.decode("utf-8", "replace")
    leaked = [s for s in target[3] if s and s in text]
    assert not leaked, f"answer leaks {leaked[:3]}"


INJECTIONS = [
    "2000-01-01' OR raise_error(reflect('java.lang.System','getProperty','parkpal.planted.secret')) IS NULL OR '",
    "2000-01-01'; SELECT * FROM silver.parking_sessions --",
    "2099-01-01T00:00:00Z' OR '1'='1",
    "2026-11-02T08:00:00Z) UNION SELECT version FROM delta.`/etc` --",
    "' || java_method('java.lang.System','getenv','PATH') || '",
    "${jndi:ldap://127.0.0.1/x}",
    "2026-11-02 08:00:00",  # no zone
    "2026-13-02T08:00:00Z",  # no such month
    "\u0662\u0660\u0662\u0666-11-02T08:00:00Z",  # Arabic-Indic digits
]


@pytest.mark.parametrize("timestamp", INJECTIONS)
def test_hostile_timestamps_are_a_400_and_leak_nothing(target, timestamp):
    status, answer = query(target, json.dumps({"timestamp": timestamp}).encode())
    assert status == 400, answer
    assert json.loads(answer)["errorCode"] == "INVALID_PARAMETER_VALUE"
    assert_safe(target, status, answer)


@pytest.mark.parametrize("version", ["1", 1.5, True, -1, 2**64, "0 OR 1=1", [0], {"v": 0}])
def test_a_version_that_is_not_a_non_negative_integer_is_a_400(target, version):
    status, answer = query(target, json.dumps({"version": version}).encode())
    assert status == 400 and "version must be" in json.loads(answer)["message"]


def test_timestamps_travel_in_time_as_typed_values(target):
    status, answer = query(target, b'{"timestamp": "2000-01-01T00:00:00Z"}')
    assert status == 400 and "no version" in json.loads(answer)["message"]
    status, answer = query(target, b'{"timestamp": "2999-01-01T00:00:00.123456789+08:00"}')
    latest = query(target, b"{}")
    assert status == 200 and latest[0] == 200
    first = lambda a: json.loads(a.decode().splitlines()[1])["metaData"]["version"]  # noqa: E731
    assert first(answer) == first(latest[1])
    assert parse_query_request({"timestamp": "2026-11-02T16:00:00+08:00"})[1].isoformat() == \
        "2026-11-02T08:00:00+00:00"


@pytest.mark.parametrize("length, expected", [("-5", 400), ("abc", 400), ("1e3", 400), (" ", 400), ("\u00b2", 400),
                                              ("99999999999999999999", 400), (str(10**6), 413)])
def test_bad_content_lengths_are_refused(target, length, expected):
    status, answer = query(target, b"{}", {"Content-Length": length})
    assert status == expected, answer


def test_an_oversized_body_is_refused_and_the_server_keeps_serving(target):
    status, _ = query(target, b'{"pad": "' + b"x" * 200_000 + b'"}')
    assert status == 413
    assert query(target, b"{}")[0] == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(target, scheme):
    local, _, token, _ = target
    assert raw(local, "GET", "/shares", {"Authorization": f"{scheme} {token}"})[0] == 200


def test_an_internal_error_answers_an_error_id_not_its_text(target, monkeypatch):
    local = target[0]

    def boom(*_a, **_k):
        raise RuntimeError(f"engine text quoting {PLANTED}")

    monkeypatch.setattr(local.server.service, "snapshot", boom)
    status, answer = query(target, b"{}")
    body = json.loads(answer)
    assert status == 500 and body["errorCode"] == "INTERNAL_ERROR" and "error id" in body["message"]
    assert PLANTED not in answer.decode()


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=3), max_leaves=6)
_sql_ish = st.sampled_from(INJECTIONS + ["2026-11-02T08:00:00Z", "0", "'", "\\u0000", "9" * 30])


@FUZZ
@given(body=st.dictionaries(st.sampled_from(["version", "timestamp", "limitHint", "predicateHints",
                                             "jsonPredicateHints", "startingVersion", "maxFiles"]),
                            _json | _sql_ish, max_size=3))
def test_fuzzed_query_bodies_never_fail_or_leak(target, body):
    status, answer = query(target, json.dumps(body).encode())
    assert_safe(target, status, answer)
    assert status in (200, 400), (body, answer[:300])


_header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@FUZZ
@given(authorization=_header_text | st.sampled_from(["Bearer", "Bearer  ", "Basic x", "bearer \t"]),
       content_length=_header_text, range_=_header_text,
       segment=st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="/?#%"), max_size=20),
       method=st.sampled_from(["GET", "POST", "HEAD"]))
def test_fuzzed_headers_and_paths_never_fail_or_leak(target, authorization, content_length, range_, segment, method):
    local, share, token, _ = target
    for path, auth in ((f"/shares/{segment}", authorization), (f"/shares/{share}/schemas/{segment}/tables", token),
                       (f"/files/{segment}/x.parquet", authorization),
                       (f"/shares/{share}/schemas/gold/tables/{segment}/query", f"Bearer {token}")):
        headers = {"Authorization": auth if auth != token else f"Bearer {token}", "Range": range_}
        body = b""
        if method == "POST":
            headers["Content-Length"] = content_length
            if content_length.strip().isdigit() and int(content_length) <= 65536:  # a body that long, sent
                body = b"x" * int(content_length)
        status, answer = raw(local, method, path, headers, body)
        assert_safe(target, status, answer)
