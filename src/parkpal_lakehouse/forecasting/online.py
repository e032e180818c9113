"""The forecaster's online features: what the served model looks up for "zone 5, 3 hours ahead".

Every hourly scoring computes, for its origin hour, one feature row per zone and horizon 1-24 (Spark,
`features.py`). It also publishes them here, so the registered model can answer requests that carry
only a zone id, hours ahead and optionally an as-of time, with no Spark at request time: a SQLite file
(`<root>/serving/forecast_features.sqlite`), the local stand-in for a Databricks online table, keeping
the last `KEEP_ORIGINS` origins. Lookups are parameterised queries; nothing from a request is ever SQL
text.

The served model finds the file through `PARKPAL_FEATURE_STORE` (set it on the serving endpoint or
before `mlflow models serve`), else the path the model was logged with (`model_config`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, MAX_HORIZON

FEATURE_STORE_ENV = "PARKPAL_FEATURE_STORE"
KEEP_ORIGINS = 24 * 8
REQUEST_COLUMNS = ("zone_id", "hours_ahead", "as_of")
_TABLE = "forecast_features"
_KEY = ("zone_key", "origin_hour", "horizon")


class FeatureLookupError(ParkPalError):
    """A request the features cannot answer: unknown zone, no features at or before its as-of, bad values."""


def feature_store_path(config: LakehouseConfig) -> Path:
    return Path(config.storage_root) / "serving" / "forecast_features.sqlite"


def _epoch(ts) -> int:
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return int(t.timestamp())


def publish_features(rows: pd.DataFrame, path: Path, keep_origins: int = KEEP_ORIGINS) -> int:
    """Upsert one origin's feature rows (`origin_hour, target_hour` + FEATURE_COLUMNS) and drop origins
    older than the newest `keep_origins` hours; one transaction, so a reader sees all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = rows[["origin_hour", "target_hour", *FEATURE_COLUMNS]].copy()
    # `zone_id` keeps the series' own type (a CSV's ids are text, gold's numbers: the model's reporting
    # hours are keyed the same way); requests are matched on its text, `zone_key`.
    frame.insert(0, "zone_key", frame["zone_id"].astype(str))
    frame["origin_hour"] = frame["origin_hour"].map(_epoch)
    frame["target_hour"] = frame["target_hour"].map(_epoch)
    columns = list(frame.columns)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} ({', '.join(columns)}, PRIMARY KEY ({', '.join(_KEY)}))")
        marks = ", ".join("?" for _ in columns)
        db.executemany(f"INSERT OR REPLACE INTO {_TABLE} ({', '.join(columns)}) VALUES ({marks})",
                       frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None))
        newest = db.execute(f"SELECT MAX(origin_hour) FROM {_TABLE}").fetchone()[0]
        db.execute(f"DELETE FROM {_TABLE} WHERE origin_hour <= ?", (newest - keep_origins * 3600,))
    return len(frame)


def parse_requests(requests: pd.DataFrame) -> list[tuple[int, int, int | None]]:
    """(zone_id, hours_ahead, as_of epoch or None) per request row, or one FeatureLookupError naming the row."""
    parsed = []
    for i, row in enumerate(requests.to_dict("records")):
        try:
            zone, hours = int(row["zone_id"]), int(row["hours_ahead"])
        except (KeyError, TypeError, ValueError):
            raise FeatureLookupError(f"request {i}: zone_id and hours_ahead must be whole numbers") from None
        if not 1 <= hours <= MAX_HORIZON:
            raise FeatureLookupError(f"request {i}: hours_ahead must be 1-{MAX_HORIZON}, not {hours}")
        as_of = row.get("as_of")
        if as_of is None or (isinstance(as_of, float) and pd.isna(as_of)) or as_of == "":
            parsed.append((zone, hours, None))
            continue
        try:
            stamp = pd.Timestamp(as_of)
        except (ValueError, TypeError):
            raise FeatureLookupError(f"request {i}: as_of must be an ISO 8601 time, not {str(as_of)[:40]!r}") from None
        parsed.append((zone, hours, _epoch(stamp)))
    return parsed


def lookup_features(path: Path, requests: pd.DataFrame) -> pd.DataFrame:
    """The feature row of each request: its zone's newest origin at or before `as_of` (the newest when
    none is given), at horizon `hours_ahead`; `origin_hour` and `target_hour` as UTC timestamps."""
    if not path.is_file():
        raise FeatureLookupError(f"no online features at {path}: the hourly scoring publishes them "
                                 "(`parkpal forecast score`)")
    wanted = parse_requests(requests)
    found = []
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        for i, (zone, hours, as_of) in enumerate(wanted):
            row = db.execute(
                f"SELECT * FROM {_TABLE} WHERE zone_key = ? AND horizon = ? AND origin_hour <= ? "
                "ORDER BY origin_hour DESC LIMIT 1", (str(zone), hours, as_of if as_of is not None else 2**62)
            ).fetchone()
            if row is None:
                when = "" if as_of is None else f" at or before {datetime.fromtimestamp(as_of, UTC):%Y-%m-%dT%H:%MZ}"
                raise FeatureLookupError(f"request {i}: no features for zone {zone}{when} (unknown zone, or not "
                                         "scored yet)")
            found.append(dict(row))
    frame = pd.DataFrame(found).drop(columns="zone_key")
    for column in ("origin_hour", "target_hour"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def store_from(model_config: dict | None) -> Path:
    """Where the served model reads its features: the environment first, then its logged config."""
    location = os.environ.get(FEATURE_STORE_ENV) or (model_config or {}).get("feature_store")
    if not location:
        raise FeatureLookupError(f"no feature store configured: set {FEATURE_STORE_ENV}")
    return Path(location)
