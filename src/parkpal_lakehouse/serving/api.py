"""The REST API for app backends and operators (`parkpal api serve`): zone status now, forecasts, metrics.

- `GET /health`: liveness for load balancers and probes; no token, and it says nothing about the data
  beyond whether it is loaded.
- `GET /zones`: the caller's zones. `GET /zones/{id}/status`: `gold.zone_status` (rewritten by the
  streaming job every sessions micro-batch). `GET /zones/{id}/forecast?hours=`: the newest scored
  forecast (`gold.zone_occupancy_forecast`) up to `hours` ahead. `GET /zones/{id}/metrics?from=&to=`:
  `gold.zone_metrics_hourly`, at most `MAX_METRICS_DAYS` per request, in pages of at most `MAX_PAGE_SIZE`.
- OpenAPI at `/docs` and `/openapi.json` (FastAPI's own).

Everything comes from gold (zones from `gold.dim_zone`'s current rows). Callers are the Delta Sharing
recipients, with the same bearer tokens (`sharing/tokens.py`, checked on every request so a rotated
token stops at once) and the same zones (`shares.yml`: an operator sees its car parks, a city its
streets and car parks). Another caller's zone answers 404 like a zone that does
not exist, so ids cannot be probed. Request values are typed by FastAPI (a non-integer zone id is a 422)
and reach Spark as typed literals, never as SQL text; internal errors are logged, not echoed.

Status, zones and forecasts are read from a snapshot in memory that a background thread reloads when
the tables' Delta versions change (`refresh_seconds`), so those answers never wait for Spark; metrics
ranges are queried from the table (one Spark query at a time).

No `from __future__ import annotations` here: FastAPI reads the handlers' annotations, and those name
the nested `caller` dependency, which string annotations could not resolve.
"""

import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Response
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.gold.inputs import between, dates_between
from parkpal_lakehouse.io.delta import read_table, table_exists, table_version
from parkpal_lakehouse.names import DIM_ZONE, ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST, ZONE_STATUS
from parkpal_lakehouse.sharing.definition import ShareDefinition, ShareDefinitionError
from parkpal_lakehouse.sharing.tokens import TokenError, TokenStore

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 500
MAX_METRICS_DAYS = 31
ZONE_ID = Annotated[int, Path(ge=1, le=2**63 - 1, description="the zone's id (`GET /zones`)")]
_WATCHED = (DIM_ZONE, ZONE_STATUS, ZONE_OCCUPANCY_FORECAST)
_ZONE_COLUMNS = ["zone_id", "name", "city", "zone_type", "operator", "capacity", "latitude", "longitude"]


def _json_value(value: Any) -> Any:
    """pandas / numpy / Spark values as JSON: timestamps as UTC ISO 8601 (`...Z`), NaN and NaT as null."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Snapshot:
    """What requests read: replaced whole by each refresh (one reference swap, never half-updated). The
    answers are serialized once per snapshot, not per request."""

    zones: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=_ZONE_COLUMNS))
    status: dict[int, dict[str, Any]] = field(default_factory=dict)
    forecasts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)
    loaded_at: datetime | None = None
    _answers: dict[tuple, Any] = field(default_factory=dict, repr=False, compare=False)

    def _memo(self, key: tuple, make: Callable[[], Any]) -> Any:
        if key not in self._answers:
            self._answers[key] = make()
        return self._answers[key]

    def zone_ids(self, column: str, value: str) -> frozenset[int]:
        """The zones whose `column` (city or operator) is `value`."""
        zones = self.zones
        return self._memo(("scope", column, value), lambda: frozenset(
            int(z) for z in zones.loc[zones[column] == value, "zone_id"]) if len(zones) else frozenset())

    def status_json(self, zone_id: int) -> bytes | None:
        row = self.status.get(zone_id)
        return None if row is None else self._memo(("status", zone_id), lambda: _json(row))

    def forecast_json(self, zone_id: int, hours: int) -> bytes | None:
        rows = [r for r in self.forecasts.get(zone_id, []) if r["horizon_hours"] <= hours]
        if not rows:
            return None
        return self._memo(("forecast", zone_id, hours), lambda: _json({
            "zone_id": zone_id, "forecast_made_at": rows[0]["forecast_made_at"],
            "model_version": rows[0]["model_version"],
            "hours": [{k: v for k, v in r.items() if k not in ("forecast_made_at", "model_version")} for r in rows]}))


class LakehouseReader:
    """The Spark side: table versions, the snapshot, metrics ranges. One Spark call at a time."""

    def __init__(self, spark: SparkSession, config: LakehouseConfig, extra_tables: tuple[str, ...] = ()) -> None:
        self.spark, self.config = spark, config
        self.watched = (*_WATCHED, *extra_tables)  # a change to any of them makes a new snapshot
        self.lock = threading.Lock()

    def versions(self) -> dict[str, int | None]:
        with self.lock:
            return {t: table_version(self.spark, self.config, t) for t in self.watched}

    def load(self, versions: dict[str, int | None]) -> Snapshot:
        with self.lock:
            spark, config = self.spark, self.config
            zones = read_table(spark, config, DIM_ZONE).where("is_current").select(*_ZONE_COLUMNS).toPandas() \
                if versions.get(DIM_ZONE) is not None else pd.DataFrame(columns=_ZONE_COLUMNS)
            status: dict[int, dict[str, Any]] = {}
            if versions.get(ZONE_STATUS) is not None:
                for row in records(read_table(spark, config, ZONE_STATUS).toPandas()):
                    status[int(row["zone_id"])] = row
            forecasts: dict[int, list[dict[str, Any]]] = {}
            if versions.get(ZONE_OCCUPANCY_FORECAST) is not None:
                table = read_table(spark, config, ZONE_OCCUPANCY_FORECAST)
                newest = table.groupBy("zone_id").agg(F.max("forecast_made_at").alias("forecast_made_at"))
                rows = table.join(newest, ["zone_id", "forecast_made_at"]).select(
                    "zone_id", "forecast_made_at", "target_hour", "horizon_hours", "predicted_occupancy_rate",
                    "lower_occupancy_rate", "upper_occupancy_rate", "predicted_occupied", "capacity",
                    "model_version").orderBy("zone_id", "horizon_hours").toPandas()
                for row in records(rows):
                    forecasts.setdefault(int(row.pop("zone_id")), []).append(row)
        zones = zones.astype({"zone_id": "int64"})
        return Snapshot(zones, status, forecasts, dict(versions), datetime.now(UTC))

    def metrics(self, zone_id: int, start: datetime, end: datetime, offset: int, limit: int) -> list[dict]:
        lo, hi = start.astimezone(UTC), end.astimezone(UTC)
        with self.lock:
            if not table_exists(self.spark, self.config, ZONE_METRICS_HOURLY):
                return []
            day = timedelta(days=1)  # metric_date is the local date: a day either side covers any zone
            rows = read_table(self.spark, self.config, ZONE_METRICS_HOURLY).where(
                (F.col("zone_id") == F.lit(zone_id)) & dates_between("metric_date", lo - day, hi + day)
                & between("hour_start", lo, hi)
            ).drop("metric_date", "date_key", "hour_key").orderBy("hour_start").offset(offset).limit(limit)
            return records(rows.toPandas())


class ApiCache:
    """The current snapshot, reloaded by a daemon thread whenever a watched table's version moves."""

    def __init__(self, reader: LakehouseReader, refresh_seconds: float = 5.0) -> None:
        self.reader, self.refresh_seconds = reader, refresh_seconds
        self.current = Snapshot()
        self.on_refresh: Callable[[dict[str, int | None]], None] | None = None  # told the versions of each reload
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Reload if anything changed; True when a new snapshot was taken."""
        versions = self.reader.versions()
        if versions == self.current.versions and self.current.loaded_at is not None:
            return False
        snapshot = self.reader.load(versions)
        if self.on_refresh is not None:
            self.on_refresh(versions)
        self.current = snapshot
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # a table being rewritten, a vacuum: keep serving the last snapshot
                log.warning("api: refreshing the snapshot failed; serving the previous one", exc_info=True)

    def start(self) -> "ApiCache":
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="parkpal-api-refresh", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


@dataclass(frozen=True)
class Caller:
    recipient: str
    zone_ids: frozenset[int]


def create_app(cache: ApiCache, tokens: TokenStore, definition: ShareDefinition) -> FastAPI:
    app = FastAPI(title="ParkPal zones API", version="1",
                  description="Zone status now, occupancy forecasts and hourly metrics for app backends and "
                              "operators. Send `Authorization: Bearer <token>` (the token of your Delta Sharing "
                              "profile); you see your own zones only.")

    # The handlers that answer from the snapshot are `async`: no thread hand-off per request (FastAPI runs
    # plain functions, dependencies included, on its thread pool); metrics waits for Spark, so it is not.
    async def caller(authorization: Annotated[str | None, Header()] = None) -> Caller:
        try:
            grant = tokens.authenticate(authorization)
            recipient = definition.recipient(grant.recipient)
        except TokenError as e:
            raise HTTPException(401, str(e), headers={"WWW-Authenticate": "Bearer"}) from None
        except ShareDefinitionError:  # a token of a recipient since removed from the definition
            raise HTTPException(403, "this token's recipient no longer has a share") from None
        return Caller(grant.recipient, cache.current.zone_ids(recipient.zone_column, recipient.zone_value))

    Auth = Annotated[Caller, Depends(caller)]  # noqa: N806 - a type alias

    def own(who: Caller, zone_id: int) -> None:
        if zone_id not in who.zone_ids:
            raise HTTPException(404, f"no zone {zone_id} among yours (GET /zones lists them)")

    @app.get("/health", summary="liveness: ok once the data is loaded")
    async def health() -> dict[str, Any]:
        return {"status": "ok" if cache.current.loaded_at is not None else "starting"}

    @app.get("/zones", summary="your zones")
    async def zones(who: Auth, page: Annotated[int, Query(ge=1, le=10**6)] = 1,
                    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100) -> dict[str, Any]:
        mine = cache.current.zones
        mine = mine[mine["zone_id"].isin(who.zone_ids)].sort_values("zone_id")
        start = (page - 1) * page_size
        return {"zones": records(mine.iloc[start:start + page_size]), "page": page, "page_size": page_size,
                "total": len(mine)}

    @app.get("/zones/{zone_id}/status", summary="the zone now: vehicles parked, drivers searching, circling",
             response_class=Response)
    async def status(who: Auth, zone_id: ZONE_ID) -> Response:
        own(who, zone_id)
        body = cache.current.status_json(zone_id)
        if body is None:
            raise HTTPException(404, f"no status for zone {zone_id} yet: the streaming job writes it "
                                     "(`parkpal stream start`)")
        return Response(body, media_type="application/json")

    @app.get("/zones/{zone_id}/forecast", summary="occupancy forecast, 1 to `hours` hours ahead",
             response_class=Response)
    async def forecast(who: Auth, zone_id: ZONE_ID, hours: Annotated[int, Query(ge=1, le=24)] = 24) -> Response:
        own(who, zone_id)
        body = cache.current.forecast_json(zone_id, hours)
        if body is None:
            raise HTTPException(404, f"no forecast scored for zone {zone_id} yet (`parkpal forecast score`)")
        return Response(body, media_type="application/json")

    @app.get("/zones/{zone_id}/metrics", summary="hourly metrics in [from, to) (UTC unless an offset is given)")
    def metrics(who: Auth, zone_id: ZONE_ID,
                start: Annotated[datetime, Query(alias="from", description="e.g. 2026-11-04T00:00:00Z")],
                end: Annotated[datetime, Query(alias="to", description="exclusive end")],
                page: Annotated[int, Query(ge=1, le=10**6)] = 1,
                page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 168) -> dict[str, Any]:
        own(who, zone_id)
        start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
        if end <= start:
            raise HTTPException(400, "`to` must be after `from`")
        if end - start > timedelta(days=MAX_METRICS_DAYS):
            raise HTTPException(400, f"at most {MAX_METRICS_DAYS} days per request; ask for the rest separately")
        rows = cache.reader.metrics(zone_id, start, end, (page - 1) * page_size, page_size + 1)
        return {"zone_id": zone_id, "hours": rows[:page_size], "page": page, "page_size": page_size,
                "next_page": page + 1 if len(rows) > page_size else None}

    return app


class ApiServer:
    """uvicorn serving the app on a thread (port 0: any free one), stopped with `stop()`."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        self.host = host
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, log_config=None))
        self._thread = threading.Thread(target=self.server.run, name="parkpal-api", daemon=True)

    def start(self, timeout_s: float = 30.0) -> "ApiServer":
        self._thread.start()
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        while not self.server.started:
            if not self._thread.is_alive() or datetime.now(UTC) > deadline:
                raise ApiServerError(f"the API did not start on {self.host} (port in use?)")
            threading.Event().wait(0.05)
        return self

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


class ApiServerError(ParkPalError):
    """The API could not start."""


@dataclass
class RunningApi:
    server: ApiServer
    cache: ApiCache

    def stop(self) -> None:
        self.server.stop()
        self.cache.stop()


def start_api(spark: SparkSession, config: LakehouseConfig, definition: ShareDefinition, tokens: TokenStore,
              host: str = "127.0.0.1", port: int = 0, refresh_seconds: float = 5.0) -> RunningApi:
    cache = ApiCache(LakehouseReader(spark, config), refresh_seconds).start()
    return RunningApi(ApiServer(create_app(cache, tokens, definition), host, port).start(), cache)
