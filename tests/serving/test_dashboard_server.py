"""`parkpal dashboard serve` in headless Chromium: the page stays open while a new gate entry reaches
silver and the zone status is rewritten; the count changes in place within one refresh, no reload."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.gold.status import write_zone_status
from parkpal_lakehouse.io.delta import delta_table, read_table
from parkpal_lakehouse.io.writers import append_rows
from parkpal_lakehouse.names import ZONE_STATUS, silver_table
from parkpal_lakehouse.serving.dashboard_server import check_loopback, start_dashboard_server
from tests.support.browser import LivePage

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.org", "::"])
def test_the_dashboard_without_login_is_served_on_loopback_only(host):
    with pytest.raises(ParkPalError, match="no login: serve it on 127.0.0.1"):
        check_loopback(host)
    check_loopback("127.0.0.1")
    check_loopback("::1")


def test_a_new_gate_entry_appears_in_the_open_page_within_one_refresh(spark, gold_city, tmp_path):
    from conftest import copy_city

    config = copy_city(Path(gold_city[0].storage_root), tmp_path / "city")
    status = read_table(spark, config, ZONE_STATUS)
    garage = status.where("parked_source = 'gate'").orderBy("zone_id").first()
    running = start_dashboard_server(spark, config, refresh_seconds=1, poll_seconds=1)
    page = LivePage(running.server.url + "/")
    try:
        cell = f"document.querySelector('#status-table tr[data-zone=\"{garage.zone_id}\"] td.parked')"
        assert page.wait_for(f"{cell} && {cell}.textContent") == str(garage.vehicles_parked)
        assert page.evaluate("document.querySelector('#page-revenue h2').textContent") == \
            "Occupancy by local hour x weekday"
        page.evaluate("window.__sameDocument = 'yes'")

        # A car enters the garage a minute before the status instant: silver gets the gate event, the
        # streaming job's status write (the function each sessions micro-batch calls) counts it.
        gates = read_table(spark, config, silver_table("gate-events"))
        entry = gates.where(F.col("event_type") == "VEHICLE_ENTRY").limit(1).withColumns({
            "event_id": F.lit("test-new-entry"), "zone_id": F.lit(garage.zone_id).cast("bigint"),
            "license_plate": F.lit("NEW 0001"),
            "event_time": F.lit(garage.as_of - timedelta(minutes=1)).cast("timestamp")})
        append_rows(entry.withColumn("event_date", F.to_date("event_time")), config, silver_table("gate-events"))
        write_zone_status(spark, config, "test-dashboard", 1)
        now = read_table(spark, config, ZONE_STATUS).where(f"zone_id = {garage.zone_id}").first()
        assert now.vehicles_parked == garage.vehicles_parked + 1 and now.as_of == garage.as_of

        # Counted in refreshes, not seconds: once the server's snapshot holds the new table version, the
        # page's next poll (at most one more, if one was in flight) shows it, in the same document.
        version = delta_table(spark, config, ZONE_STATUS).history(1).first().version
        deadline = time.monotonic() + 60
        while running.cache.current.versions.get(ZONE_STATUS) != version:
            assert time.monotonic() < deadline, "the server never picked up the new zone_status version"
            time.sleep(0.1)
        polls = lambda: int(page.evaluate("document.body.getAttribute('data-status-polls')"))  # noqa: E731
        before = polls()
        assert page.wait_for(f"{cell}.textContent === '{garage.vehicles_parked + 1}'", timeout_s=60)
        assert polls() - before <= 2, (before, polls())
        assert page.evaluate("window.__sameDocument") == "yes"  # redrawn in place, not reloaded
        assert page.evaluate(f"{cell}.classList.contains('changed') && {cell}.title") == \
            f"was {garage.vehicles_parked}"
    finally:
        page.close()
        running.stop()


def test_the_static_file_says_how_to_get_the_live_status(spark, gold_city):
    from parkpal_lakehouse.serving.dashboard import dashboard_data, render_dashboard

    html = render_dashboard(dashboard_data(spark, gold_city[0]))
    assert "const LIVE = null;" in html and "`parkpal dashboard serve`" in html
