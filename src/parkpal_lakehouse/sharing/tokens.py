"""Recipient bearer tokens and the profile files recipients import (pandas, Power BI, Spark).

Like Databricks' open sharing: a token is shown once, in the recipient's profile file; the server keeps
only its SHA-256 and expiry (`<root>/sharing/recipients.json`), and reads that file on every request, so
a rotated token stops working at once without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from parkpal_lakehouse.errors import ParkPalError

DEFAULT_TOKEN_DAYS = 90
_lock = threading.Lock()


class TokenError(ParkPalError):
    """A request's bearer token is missing, unknown or expired."""


@dataclass(frozen=True)
class Grant:
    recipient: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class TokenStore:
    """Token hashes per recipient in a JSON file (written atomically)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._parsed: tuple[tuple[int, int, int], dict[str, dict[str, str]]] | None = None

    def _read(self) -> dict[str, dict[str, str]]:
        """The entries as the file holds them now. Parsed again only when the file changed (a new inode,
        mtime or size: `issue` replaces it), so every request still sees a rotation at once."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._parsed is None or self._parsed[0] != key:
            self._parsed = (key, json.loads(self.path.read_text()))
        return dict(self._parsed[1])

    def issue(self, recipient: str, lifetime: timedelta = timedelta(days=DEFAULT_TOKEN_DAYS),
              now: datetime | None = None) -> tuple[str, datetime]:
        """A new token for the recipient (its previous one stops working); returns it and its expiry."""
        if lifetime.total_seconds() <= 0:
            raise TokenError(f"a token lifetime must be positive, not {lifetime}")
        now = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        expires = now + lifetime
        with _lock:
            entries = self._read()
            entries[recipient] = {"token_sha256": _hash(token), "issued_at": _iso(now), "expires_at": _iso(expires)}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
            os.chmod(tmp, 0o600)
            tmp.replace(self.path)
        return token, expires

    def authenticate(self, authorization: str | None, now: datetime | None = None) -> Grant:
        """The recipient a request's `Authorization` header stands for, or a TokenError saying why not."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():  # auth schemes are case-insensitive (RFC 9110)
            raise TokenError("missing bearer token: send 'Authorization: Bearer <token>' from your profile file")
        digest = _hash(token.strip())
        for recipient, entry in self._read().items():
            if hmac.compare_digest(entry["token_sha256"], digest):
                expires = datetime.fromisoformat(entry["expires_at"].replace("Z", "+00:00"))
                if (now or datetime.now(UTC)) >= expires:
                    raise TokenError(f"bearer token expired at {entry['expires_at']}; ask for a new profile file")
                return Grant(recipient, expires)
        raise TokenError("invalid bearer token")

    def is_valid(self, token: str, now: datetime | None = None) -> bool:
        try:
            self.authenticate(f"Bearer {token}", now)
        except TokenError:
            return False
        return True


def profile_json(endpoint: str, token: str, expires_at: datetime) -> dict[str, object]:
    """The Delta Sharing profile file (shareCredentialsVersion 1), as Power BI and the clients import it."""
    return {"shareCredentialsVersion": 1, "endpoint": endpoint, "bearerToken": token,
            "expirationTime": _iso(expires_at)}


def write_profile(path: str | Path, endpoint: str, token: str, expires_at: datetime) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(profile_json(endpoint, token, expires_at), indent=2) + "\n")
    os.chmod(target, 0o600)
    return target
