"""Keys shared by the gold tables: local date/hour keys and pseudonymous keys.

Every identifier that leaves silver (user, plate, search, visit) becomes HMAC-SHA256(key, purpose|value)
with a secret key: Key Vault secret `gold-pseudonym-key` through the secret scope on Databricks; locally
a random key generated once per lakehouse in `<root>/secrets/pseudonym.key` (mode 600, outside every
table). Without the key nobody can recompute a pseudonym from a guessed id, so trying ids does not reverse it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ConfigError

MIN_KEY_CHARS = 32  # 128+ bits once hex or base64: guessing the key must be as hard as guessing a token
# Keys that were ever public (the fixed development key of earlier versions): never a secret.
KNOWN_PUBLIC_KEYS = frozenset({"parkpal-local-development-key-not-for-production"})
_HMAC_BLOCK = 64  # SHA-256's block size


def local_key_file(config: LakehouseConfig) -> Path:
    return Path(config.storage_root) / "secrets" / "pseudonym.key"


def _local_key(config: LakehouseConfig) -> str:
    """This lakehouse's own key, made on first use (no two lakehouses share one)."""
    path = local_key_file(config)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"{path} is readable by other users: chmod 600 it (or rotate it) before publishing gold")
    return path.read_text().strip()


def pseudonym_key(config: LakehouseConfig, dbutils: object | None = None) -> str:
    """The secret key of gold's pseudonyms; refuses a key that is short or was ever public."""
    if "://" in config.storage_root and config.gold.pseudonym_key is None:
        raise ConfigError("a cloud lakehouse needs gold.pseudonym_key: a secret-scope reference")
    key = _local_key(config) if config.gold.pseudonym_key is None else config.gold.pseudonym_key.resolve(dbutils)
    check_secret_key(key)
    return key


def check_secret_key(key: str) -> None:
    if len(key) < MIN_KEY_CHARS or key in KNOWN_PUBLIC_KEYS or len(set(key)) < 8:
        raise ConfigError(f"the gold pseudonym key is not a secret (fewer than {MIN_KEY_CHARS} characters, too "
                          "little variety, or a published development key): set a random one in the secret scope")


def hmac_sha256_hex(message: Column, key: bytes) -> Column:
    """HMAC-SHA256 (RFC 2104) of a string column as lower-case hex, with Spark's own SHA-256:
    H((K ^ opad) || H((K ^ ipad) || m)). Equal to Python's `hmac.new(key, m, sha256).hexdigest()`."""
    block = (hashlib.sha256(key).digest() if len(key) > _HMAC_BLOCK else key).ljust(_HMAC_BLOCK, b"\0")
    inner_pad = bytearray(b ^ 0x36 for b in block)
    outer_pad = bytearray(b ^ 0x5C for b in block)
    inner = F.unhex(F.sha2(F.concat(F.lit(inner_pad), F.encode(message, "UTF-8")), 256))
    return F.sha2(F.concat(F.lit(outer_pad), inner), 256)


def pseudonym(value: Column, key: str, purpose: str) -> Column:
    """HMAC-SHA256(key, "<purpose>|<value>"): stable per key, so analysts can count and join, but not
    reversible or recomputable without the secret key. `purpose` separates user, plate, search and
    visit keys, so one cannot be joined to another."""
    message = F.concat(F.lit(f"{purpose}|"), value.cast("string"))
    return F.when(value.isNotNull(), hmac_sha256_hex(message, key.encode()))


def local_time(ts: Column, timezone: str) -> Column:
    return F.from_utc_timestamp(ts, timezone)


def date_key(ts: Column, timezone: str) -> Column:
    """yyyymmdd of the local date, joining `gold.dim_date.date_key`."""
    return F.date_format(local_time(ts, timezone), "yyyyMMdd").cast("int")


def hour_key(ts: Column, timezone: str) -> Column:
    """Local hour of day 0-23, joining `gold.dim_hour.hour_key`."""
    return F.hour(local_time(ts, timezone))


def local_date(ts: Column, timezone: str) -> Column:
    return F.to_date(local_time(ts, timezone))


def hour_of(ts: Column) -> Column:
    return F.date_trunc("hour", ts)
