"""`parkpal dashboard serve`: the operator dashboard, live. The same page as `parkpal dashboard` (charts from
gold, redrawn when gold or the forecasts change) plus "Zone status now", which the page polls from
`/live/status` and redraws in place, no reload. Status comes from the API's snapshot (`serving/api.py`:
reloaded when `gold.zone_status` gets a new version, i.e. after each sessions micro-batch).

The page shows every zone and has no login, like the HTML file `parkpal dashboard` writes: it is served on
loopback only (put it behind your single sign-on proxy to share it); `parkpal api serve` is the
authenticated, per-operator surface.
"""

import ipaddress
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pyspark.sql import SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.names import ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST
from parkpal_lakehouse.serving.api import ApiCache, ApiServer, LakehouseReader
from parkpal_lakehouse.serving.dashboard import dashboard_data, render_dashboard

CHART_TABLES = (ZONE_METRICS_HOURLY, ZONE_OCCUPANCY_FORECAST)


def check_loopback(host: str) -> None:
    """One line, before Spark starts, for a host that is not this machine's loopback."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ParkPalError(f"the dashboard shows every zone and has no login: serve it on 127.0.0.1 (not {host}) "
                           "and put a proxy with your sign-in in front; app backends use `parkpal api serve`")


class DashboardPage:
    """The rendered page, rebuilt (Spark) when gold's metrics or the forecasts get a new version."""

    def __init__(self, reader: LakehouseReader, poll_seconds: float) -> None:
        self.reader, self.live = reader, {"status_url": "live/status", "poll_ms": int(poll_seconds * 1000)}
        self.versions: dict[str, Any] = {}
        self.html = ""

    def refresh(self, versions: dict[str, Any]) -> None:
        wanted = {t: versions.get(t) for t in CHART_TABLES}
        if wanted == self.versions and self.html:
            return
        with self.reader.lock:
            data = dashboard_data(self.reader.spark, self.reader.config)
        self.html, self.versions = render_dashboard(data, self.live), wanted


def create_dashboard_app(cache: ApiCache, page: DashboardPage) -> FastAPI:
    app = FastAPI(title="ParkPal operator dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
               "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                          "img-src 'self' data:; connect-src 'self'"}

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page.html, headers=headers)

    @app.get("/live/status")
    def live_status() -> dict[str, Any]:
        snapshot = cache.current
        return {"zones": sorted(snapshot.status.values(), key=lambda s: s["zone_id"])}

    return app


@dataclass
class RunningDashboard:
    server: ApiServer
    cache: ApiCache

    def stop(self) -> None:
        self.server.stop()
        self.cache.stop()


def start_dashboard_server(spark: SparkSession, config: LakehouseConfig, host: str = "127.0.0.1", port: int = 0,
                           refresh_seconds: float = 5.0, poll_seconds: float = 5.0) -> RunningDashboard:
    check_loopback(host)
    reader = LakehouseReader(spark, config, extra_tables=CHART_TABLES)
    cache = ApiCache(reader, refresh_seconds)
    page = DashboardPage(reader, poll_seconds)
    cache.on_refresh = page.refresh
    cache.start()
    server = ApiServer(create_dashboard_app(cache, page), host, port).start()
    return RunningDashboard(server, cache)
