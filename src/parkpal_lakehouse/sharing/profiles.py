"""Profile files for every recipient of a running server: reuse a valid token, issue one otherwise."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from parkpal_lakehouse.sharing.definition import ShareDefinition
from parkpal_lakehouse.sharing.tokens import DEFAULT_TOKEN_DAYS, TokenStore, write_profile


def profile_path(profiles_dir: Path, recipient: str) -> Path:
    return profiles_dir / f"{recipient}.share"


def ensure_profiles(store: TokenStore, definition: ShareDefinition, profiles_dir: Path, endpoint: str,
                    lifetime: timedelta = timedelta(days=DEFAULT_TOKEN_DAYS)) -> dict[str, Path]:
    """One profile file per recipient pointing at `endpoint`. A profile whose token is still valid keeps
    it (only the endpoint is refreshed); a missing, revoked or expired one gets a new token."""
    written: dict[str, Path] = {}
    for recipient in definition.recipients:
        path = profile_path(profiles_dir, recipient.name)
        token, expires = None, None
        if path.is_file():
            old = json.loads(path.read_text())
            if store.is_valid(old.get("bearerToken", "")):
                grant = store.authenticate(f"Bearer {old['bearerToken']}")
                token, expires = old["bearerToken"], grant.expires_at
        if token is None:
            token, expires = store.issue(recipient.name, lifetime)
        written[recipient.name] = write_profile(path, endpoint, token, expires)
    return written


def rotate_profile(store: TokenStore, definition: ShareDefinition, profiles_dir: Path, recipient: str,
                   endpoint: str, lifetime: timedelta) -> Path:
    """A new token for one recipient (the old one stops working at once) in a new profile file."""
    definition.recipient(recipient)
    token, expires = store.issue(recipient, lifetime)
    return write_profile(profile_path(profiles_dir, recipient), endpoint, token, expires)


def ensure_credentials(store: TokenStore, definition: ShareDefinition, profiles_dir: Path, endpoint: str,
                       lifetime: timedelta = timedelta(days=DEFAULT_TOKEN_DAYS)) -> dict[str, Path]:
    """A profile file with a valid token for every recipient, touching none that has one (its endpoint
    stays as `parkpal share serve` wrote it): what `parkpal api serve` needs before anyone ran the
    sharing server. New files point at `endpoint` until the sharing server refreshes them."""
    written: dict[str, Path] = {}
    for recipient in definition.recipients:
        path = profile_path(profiles_dir, recipient.name)
        token = json.loads(path.read_text()).get("bearerToken", "") if path.is_file() else ""
        if not store.is_valid(token):
            token, expires = store.issue(recipient.name, lifetime)
            write_profile(path, endpoint, token, expires)
        written[recipient.name] = path
    return written
