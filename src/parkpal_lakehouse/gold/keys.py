"""Keys shared by the gold tables: local date/hour keys and pseudonymous keys."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig

# Used only where no key is configured (local runs); Databricks reads the key from the secret scope.
LOCAL_DEVELOPMENT_KEY = "parkpal-local-development-key-not-for-production"


def pseudonym_key(config: LakehouseConfig, dbutils: object | None = None) -> str:
    if config.gold.pseudonym_key is None:
        return LOCAL_DEVELOPMENT_KEY
    return config.gold.pseudonym_key.resolve(dbutils)


def pseudonym(value: Column, key: str, purpose: str) -> Column:
    """A keyed SHA-256 of `value`: stable per key, so analysts can count and join, but not reversible
    or recomputable without the secret key. `purpose` separates user keys from plate keys."""
    return F.when(value.isNotNull(), F.sha2(F.concat_ws("|", F.lit(key), F.lit(purpose), value.cast("string")), 256))


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
