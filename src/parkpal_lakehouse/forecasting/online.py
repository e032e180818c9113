"""The forecaster's online features: what the served model looks up for "zone 5, 3 hours ahead".

Every hourly scoring computes, for its origin hour, one feature row per zone and horizon 1-24 (Spark,
`features.py`). It also publishes them, so the registered model can answer requests that carry only a
zone id, hours ahead and optionally an as-of time, with no Spark at request time:
- `gold.zone_forecast_features` (Delta, every environment), read in a workspace through a SQL
  warehouse (`WarehouseFeatures`, the SQL Statement Execution API);
- locally also a SQLite file (`<root>/serving/forecast_features.sqlite`, `SqliteFeatures`).
Both keep the last `KEEP_ORIGINS` origins and are read with the same parameterised statement
(`LOOKUP_SQL`); nothing from a request is ever SQL text.

The served model finds its store through `PARKPAL_FEATURE_STORE` (the serving endpoint sets it;
`jobs/resources/model_serving.yml`), else the path the model was logged with (`model_config`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.features import FEATURE_COLUMNS, MAX_HORIZON

FEATURE_STORE_ENV = "PARKPAL_FEATURE_STORE"
KEEP_ORIGINS = 24 * 8
REQUEST_COLUMNS = ("zone_id", "hours_ahead", "as_of")
WAREHOUSE_SCHEME = "databricks-sql://"
_TABLE = "forecast_features"
_KEY = ("zone_id", "origin_hour", "horizon")


class FeatureLookupError(ParkPalError):
    """A request the features cannot answer: unknown zone, no features at or before its as-of, bad values."""


def feature_store_path(config: LakehouseConfig) -> Path:
    return Path(config.storage_root) / "serving" / "forecast_features.sqlite"


def _epoch(ts) -> int:
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return int(t.timestamp())


def publish_features(rows: pd.DataFrame, path: Path, keep_origins: int = KEEP_ORIGINS) -> int:
    """Upsert one origin's feature rows (`origin_hour, target_hour` + FEATURE_COLUMNS) into the SQLite
    store and drop origins older than the newest `keep_origins` hours; one transaction, so a reader sees
    all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = rows[["origin_hour", "target_hour", *FEATURE_COLUMNS]].copy()
    frame["zone_id"] = frame["zone_id"].astype(str)  # zones are looked up by their text (reporting.py too)
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


def feature_table_rows(rows: DataFrame) -> DataFrame:
    """Spark feature rows as `gold.zone_forecast_features` rows: the same columns as the SQLite store
    (zone_id as text, origin and target hours as epoch seconds), so one lookup statement serves both."""
    return rows.select(F.unix_seconds("origin_hour").alias("origin_hour"),
                       F.unix_seconds("target_hour").alias("target_hour"),
                       *(F.col(c).cast("string").alias(c) if c == "zone_id" else c for c in FEATURE_COLUMNS))


# One statement for every store: SQLite and Databricks SQL both take `:name` parameters.
LOOKUP_SQL = ("SELECT * FROM {table} WHERE zone_id = :zone_id AND horizon = :horizon AND origin_hour <= :as_of "
              "ORDER BY origin_hour DESC LIMIT 1")
_TABLE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*){0,2}")


def lookup_parameters(zone: int, hours: int, as_of: int | None) -> dict[str, object]:
    return {"zone_id": str(zone), "horizon": hours, "as_of": as_of if as_of is not None else 2**62}


class SqliteFeatures:
    """The local store (`publish_features`)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self, zone: int, hours: int, as_of: int | None) -> dict[str, object] | None:
        if not self.path.is_file():
            raise FeatureLookupError(f"no online features at {self.path}: the hourly scoring publishes them "
                                     "(`parkpal forecast score`)")
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            db.row_factory = sqlite3.Row
            row = db.execute(LOOKUP_SQL.format(table=_TABLE), lookup_parameters(zone, hours, as_of)).fetchone()
        return None if row is None else dict(row)


class WarehouseFeatures:
    """In a Databricks workspace: `gold.zone_forecast_features` through a SQL warehouse (the SQL Statement
    Execution API, databricks-sdk; the serving endpoint's environment holds the host and token), with
    the same statement and typed parameters. `PARKPAL_FEATURE_STORE=databricks-sql://<warehouse id>/<table>`."""

    def __init__(self, warehouse_id: str, table: str, client: object | None = None) -> None:
        if not _TABLE_NAME.fullmatch(table):
            raise FeatureLookupError(f"not a table name: {table!r}")
        self.warehouse_id, self.table, self._client = warehouse_id, table, client

    def fetch(self, zone: int, hours: int, as_of: int | None) -> dict[str, object] | None:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.service.sql import Disposition, Format, StatementParameterListItem, StatementState

        client = self._client or WorkspaceClient()
        values = lookup_parameters(zone, hours, as_of)
        types = {"zone_id": "STRING", "horizon": "INT", "as_of": "BIGINT"}
        typed = [StatementParameterListItem(name=k, value=str(v), type=types[k]) for k, v in values.items()]
        response = client.statement_execution.execute_statement(  # type: ignore[attr-defined]
            statement=LOOKUP_SQL.format(table=self.table), warehouse_id=self.warehouse_id, wait_timeout="30s",
            format=Format.JSON_ARRAY, disposition=Disposition.INLINE, parameters=typed)
        if response.status.state != StatementState.SUCCEEDED:
            raise RuntimeError(f"feature lookup {response.statement_id}: {response.status.state}")
        data = (response.result.data_array or []) if response.result else []
        if not data:
            return None
        columns = [(c.name, str(getattr(c.type_name, "value", c.type_name))) for c in response.manifest.schema.columns]
        return {name: _typed(value, kind) for (name, kind), value in zip(columns, data[0], strict=True)}


def _typed(value: str | None, kind: str) -> object:
    """A JSON_ARRAY cell (text) as the type its column has."""
    if value is None:
        return None
    if kind.endswith("BOOLEAN"):
        return value.lower() == "true"
    if kind.endswith(("INT", "LONG", "SHORT", "BYTE")):
        return int(value)
    if kind.endswith(("DOUBLE", "FLOAT", "DECIMAL")):
        return float(value)
    return value


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


def lookup_features(store: SqliteFeatures | WarehouseFeatures, requests: pd.DataFrame) -> pd.DataFrame:
    """The feature row of each request: its zone's newest origin at or before `as_of` (the newest when
    none is given), at horizon `hours_ahead`; `origin_hour` and `target_hour` as UTC timestamps."""
    found = []
    for i, (zone, hours, as_of) in enumerate(parse_requests(requests)):
        row = store.fetch(zone, hours, as_of)
        if row is None:
            when = "" if as_of is None else f" at or before {datetime.fromtimestamp(as_of, UTC):%Y-%m-%dT%H:%MZ}"
            raise FeatureLookupError(f"request {i}: no features for zone {zone}{when} (unknown zone, or not "
                                     "scored yet)")
        found.append(row)
    frame = pd.DataFrame(found)
    for column in ("origin_hour", "target_hour"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame


def store_from(model_config: dict | None) -> SqliteFeatures | WarehouseFeatures:
    """Where the served model reads its features: the environment first, then its logged config. A path
    is the SQLite store; `databricks-sql://<warehouse id>/<catalog.schema.table>` a workspace's table."""
    location = os.environ.get(FEATURE_STORE_ENV) or (model_config or {}).get("feature_store")
    if not location:
        raise FeatureLookupError(f"no feature store configured: set {FEATURE_STORE_ENV}")
    if location.startswith(WAREHOUSE_SCHEME):
        warehouse, _, table = location.removeprefix(WAREHOUSE_SCHEME).partition("/")
        return WarehouseFeatures(warehouse, table)
    return SqliteFeatures(Path(location))
