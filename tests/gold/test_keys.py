"""Gold's pseudonyms as an attacker would try them: reversing every shared identifier without the key.

The attacker knows the id space (user ids are small integers), the zone and entry time of each search
(they are in gold), how silver builds session ids, and every key that was ever public. With all that
and no secret key, no pseudonym maps back; with the key, every one does (so the attack is real).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.config import Environment, GoldSettings, LakehouseConfig, SecretRef, local_config
from parkpal_lakehouse.errors import ConfigError
from parkpal_lakehouse.gold.facts import fact_parking_sessions
from parkpal_lakehouse.gold.keys import (
    KNOWN_PUBLIC_KEYS,
    hmac_sha256_hex,
    local_key_file,
    pseudonym,
    pseudonym_key,
)
from parkpal_lakehouse.sessions.rules import session_id
from parkpal_lakehouse.sharing.definition import load_definition
from parkpal_lakehouse.sharing.publish import publish_shares

USERS = range(1, 501)
SESSIONS_DDL = ("session_id STRING, user_id BIGINT, zone_id BIGINT, zone_entry_at TIMESTAMP, "
                "circling_start TIMESTAMP, parked_at TIMESTAMP, confirmed_at TIMESTAMP, departed_at TIMESTAMP, "
                "closed_at TIMESTAMP, circling_seconds DOUBLE, parked_seconds DOUBLE, outcome STRING, "
                "circling_is_estimate BOOLEAN, confirmation STRING, departure_source STRING, written_by STRING")


@pytest.mark.parametrize("key", [b"k", b"a" * 64, b"b" * 65, "ключ-🔑".encode()])
def test_sparks_hmac_is_rfc_2104(spark, key):
    messages = ["", "user|42", "plate|ABC 1234", "visit|é-ü-漢字", "x" * 300]
    got = spark.createDataFrame([(m,) for m in messages], "m STRING").select(
        "m", hmac_sha256_hex(F.col("m"), key).alias("h")).collect()
    assert {r.m: r.h for r in got} == {m: hmac.new(key, m.encode(), hashlib.sha256).hexdigest() for m in messages}


def test_no_shared_identifier_reverses_without_the_key(spark, tmp_path):
    config = local_config(tmp_path / "lake")
    key = pseudonym_key(config)
    entry = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    rows = []
    for user in USERS[::7]:
        zone, at = user % 50 + 1, entry + timedelta(seconds=user)
        rows.append((session_id(user, zone, int(at.timestamp() * 1000)), user, zone, at, at, at, at, None, at,
                     30.0, None, "parked", False, "activity", None, "stream"))
    facts = fact_parking_sessions(spark.createDataFrame(rows, SESSIONS_DDL), key, "Asia/Manila").collect()
    published = {(r.user_key, r.session_id) for r in facts}

    def guesses(user: int, zone: int, at: datetime, candidate_key: str | None) -> set[str]:
        ms = int(at.timestamp() * 1000)
        plain = {hashlib.sha256(str(user).encode()).hexdigest(), session_id(user, zone, ms),
                 hashlib.sha256(session_id(user, zone, ms).encode()).hexdigest()}
        if candidate_key is None:
            return plain
        keyed = {hmac.new(candidate_key.encode(), f"{p}|{v}".encode(), hashlib.sha256).hexdigest()
                 for p, v in (("user", user), ("session", session_id(user, zone, ms)))}
        legacy = {hashlib.sha256(f"{candidate_key}|{p}|{v}".encode()).hexdigest()
                  for p, v in (("user", user), ("session", session_id(user, zone, ms)))}
        return plain | keyed | legacy

    for fact in facts:
        zone, at = fact.zone_id, fact.zone_entry_at.replace(tzinfo=UTC)
        ids = {fact.user_key, fact.session_id}
        for candidate in [None, *KNOWN_PUBLIC_KEYS, "test-key", ""]:
            assert not any(ids & guesses(user, zone, at, candidate) for user in USERS), "a pseudonym reversed"
    # The same attack with the lakehouse's key recovers every user: the test would catch a weak scheme.
    recovered = 0
    for fact in facts:
        zone, at = fact.zone_id, fact.zone_entry_at.replace(tzinfo=UTC)
        recovered += any({fact.user_key, fact.session_id} & guesses(u, zone, at, key) for u in USERS)
    assert recovered == len(facts) == len(published)


def test_each_lakehouse_gets_its_own_private_key(tmp_path):
    a, b = local_config(tmp_path / "a"), local_config(tmp_path / "b")
    key_a, key_b = pseudonym_key(a), pseudonym_key(b)
    assert key_a != key_b and len(key_a) == 64
    assert pseudonym_key(a) == key_a  # kept: pseudonyms are stable across runs
    path = local_key_file(a)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "tables" not in path.parts
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        pseudonym_key(a)


@pytest.mark.parametrize("value", ["short", *KNOWN_PUBLIC_KEYS, "a" * 40])
def test_a_key_that_is_not_secret_is_refused_and_nothing_is_published(spark, tmp_path, monkeypatch, value):
    ref = SecretRef("parkpal", "gold-pseudonym-key", env_var="PARKPAL_TEST_PSEUDONYM_KEY")
    monkeypatch.setenv("PARKPAL_TEST_PSEUDONYM_KEY", value)
    config = LakehouseConfig(env=Environment.LOCAL, storage_root=str(tmp_path / "lake"),
                             gold=GoldSettings(pseudonym_key=ref))
    with pytest.raises(ConfigError, match="not a secret"):
        publish_shares(spark, config, load_definition())
    assert not (tmp_path / "lake" / "sharing").exists()


def test_a_cloud_lakehouse_needs_a_secret_scope_key():
    config = LakehouseConfig(env=Environment.LOCAL, storage_root="abfss://gold@acct.dfs.core.windows.net/x")
    with pytest.raises(ConfigError, match="secret-scope"):
        pseudonym_key(config)


def test_purposes_do_not_collide(spark):
    df = spark.createDataFrame([("42",)], "v STRING")
    row = df.select(pseudonym(F.col("v"), "k" * 40, "user").alias("u"),
                    pseudonym(F.col("v"), "k" * 40, "plate").alias("p")).first()
    assert row.u != row.p
