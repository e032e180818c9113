"""Recipient tokens: only hashes are stored, expiry and rotation take effect at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from parkpal_lakehouse.sharing.tokens import TokenError, TokenStore, write_profile

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_token_opens_its_recipient_until_it_expires(tmp_path):
    store = TokenStore(tmp_path / "recipients.json")
    token, expires = store.issue("makati-city", timedelta(days=30), now=NOW)
    assert expires == NOW + timedelta(days=30)
    assert store.authenticate(f"Bearer {token}", now=NOW).recipient == "makati-city"
    assert store.authenticate(f"Bearer {token}", now=expires - timedelta(seconds=1)).recipient == "makati-city"
    with pytest.raises(TokenError, match="expired at 2026-12-23T08:00:00.000Z"):
        store.authenticate(f"Bearer {token}", now=expires)


@pytest.mark.parametrize(("header", "message"), [
    (None, "missing bearer token"), ("", "missing bearer token"), ("Basic dXNlcjpwdw==", "missing bearer token"),
    ("Bearer ", "missing bearer token"), ("Bearer not-a-token", "invalid bearer token"),
])
def test_missing_or_wrong_tokens_are_refused(tmp_path, header, message):
    store = TokenStore(tmp_path / "recipients.json")
    store.issue("makati-city", now=NOW)
    with pytest.raises(TokenError, match=message):
        store.authenticate(header, now=NOW)


def test_the_store_keeps_hashes_not_tokens_and_rotation_revokes(tmp_path):
    store = TokenStore(tmp_path / "recipients.json")
    first, _ = store.issue("makati-city", now=NOW)
    other, _ = store.issue("ortigas-parking", now=NOW)
    second, _ = store.issue("makati-city", now=NOW)
    text = (tmp_path / "recipients.json").read_text()
    assert first not in text and second not in text and other not in text
    assert oct((tmp_path / "recipients.json").stat().st_mode & 0o777) == "0o600"
    assert not store.is_valid(first, now=NOW)
    assert store.authenticate(f"Bearer {second}", now=NOW).recipient == "makati-city"
    assert store.authenticate(f"Bearer {other}", now=NOW).recipient == "ortigas-parking"
    with pytest.raises(TokenError, match="positive"):
        store.issue("makati-city", timedelta(0))


def test_the_profile_file_is_what_delta_sharing_clients_and_power_bi_import(tmp_path):
    from delta_sharing.protocol import DeltaSharingProfile

    path = write_profile(tmp_path / "p" / "makati-city.share", "http://127.0.0.1:8080/delta-sharing", "tok",
                         NOW + timedelta(days=90))
    raw = json.loads(path.read_text())
    assert raw == {"shareCredentialsVersion": 1, "endpoint": "http://127.0.0.1:8080/delta-sharing",
                   "bearerToken": "tok", "expirationTime": "2027-02-21T08:00:00.000Z"}
    profile = DeltaSharingProfile.read_from_file(str(path))
    assert (profile.endpoint, profile.bearer_token, profile.expiration_time) == (
        "http://127.0.0.1:8080/delta-sharing", "tok", "2027-02-21T08:00:00.000Z")


def test_the_api_hands_out_missing_credentials_and_leaves_valid_ones_alone(tmp_path):
    """`parkpal api serve` before any sharing server: every recipient gets a profile with a token; a valid
    profile keeps its token and endpoint; a revoked one gets a new token."""
    from parkpal_lakehouse.sharing.definition import load_definition
    from parkpal_lakehouse.sharing.profiles import ensure_credentials, profile_path

    definition = load_definition()
    store, profiles = TokenStore(tmp_path / "recipients.json"), tmp_path / "profiles"
    kept, _ = store.issue("makati-city")
    write_profile(profile_path(profiles, "makati-city"), "https://share.example/delta-sharing", kept,
                  NOW + timedelta(days=90))
    revoked, _ = store.issue("taguig-city")
    write_profile(profile_path(profiles, "taguig-city"), "https://share.example/delta-sharing", revoked,
                  NOW + timedelta(days=90))
    store.issue("taguig-city")  # rotated elsewhere: the file's token no longer works
    written = ensure_credentials(store, definition, profiles, "http://127.0.0.1:8080/delta-sharing")
    assert set(written) == {r.name for r in definition.recipients}
    for recipient, path in written.items():
        profile = json.loads(path.read_text())
        assert store.authenticate(f"Bearer {profile['bearerToken']}").recipient == recipient
    makati = json.loads(written["makati-city"].read_text())
    assert makati["bearerToken"] == kept and makati["endpoint"] == "https://share.example/delta-sharing"
    taguig = json.loads(written["taguig-city"].read_text())
    assert taguig["bearerToken"] != revoked and taguig["endpoint"] == "http://127.0.0.1:8080/delta-sharing"
