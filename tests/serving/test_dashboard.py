"""The operator dashboard: its frames checked with chispa, the report rendered in headless Chromium and
the screenshot checked for every chart; filters by operator and zone change what is drawn."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from PIL import Image
from pyspark.sql import functions as F

from parkpal_lakehouse.forecasting.schemas import ZONE_OCCUPANCY_FORECAST_DDL
from parkpal_lakehouse.io.delta import overwrite_table, read_table
from parkpal_lakehouse.names import ZONE_OCCUPANCY_FORECAST
from parkpal_lakehouse.serving.dashboard import (
    dashboard_data,
    forecast_vs_actual_frame,
    render_dashboard,
    write_dashboard,
    zone_day_frame,
)
from tests.support.browser import dump_dom, screenshot

# The report's series colours (dashboard.html COLORS), as RGB.
BAR, LINE, BAND, ACTUAL, HIGHLIGHT = (43, 108, 176), (221, 107, 32), (190, 227, 248), (47, 133, 90), (229, 62, 62)


def test_zone_day_sums_are_additive_and_weight_circling_by_parked(spark):
    metrics = spark.createDataFrame(
        [(1, 20261104, 3, 2, 60.0, 0.5, 0.25, 1.0, 5.0, 20, 100.0),
         (1, 20261104, 1, 1, 120.0, 0.75, 0.5, 1.0, 5.0, 20, 0.0),
         (1, 20261104, 0, 0, None, 0.125, 0.0, 0.25, 0.0, 20, None),
         (2, 20261104, 1, 1, 30.0, None, None, None, None, 40, 50.0)],
        "zone_id BIGINT, date_key INT, searches_started BIGINT, parked BIGINT, circling_seconds_avg DOUBLE, "
        "occupancy_rate DOUBLE, occupancy_rate_low DOUBLE, occupancy_rate_high DOUBLE, app_occupied_avg DOUBLE, "
        "capacity INT, revenue DOUBLE")
    dim_date = spark.createDataFrame([(20261104, datetime(2026, 11, 4).date(), 3)],
                                     "date_key INT, date DATE, day_of_week INT")
    expected = spark.createDataFrame(
        [(1, datetime(2026, 11, 4).date(), 3, 4, 3, 240.0, 3, 1.375, 3, 0.75, 2.25, 0.5, 100.0),
         (2, datetime(2026, 11, 4).date(), 3, 1, 1, 30.0, 1, None, 0, None, None, None, 50.0)],
        "zone_id BIGINT, date DATE, day_of_week INT, searches BIGINT, parked BIGINT, circling_sum DOUBLE, "
        "circling_n BIGINT, occupancy_sum DOUBLE, occupancy_n BIGINT, occupancy_low_sum DOUBLE, "
        "occupancy_high_sum DOUBLE, app_occupancy_sum DOUBLE, revenue DOUBLE")
    assert_df_equality(zone_day_frame(metrics, dim_date), expected, ignore_nullable=True, allow_nan_equality=True)


def test_forecast_vs_actual_keeps_the_latest_forecast_per_hour(spark):
    t = datetime(2026, 11, 4, 10)
    forecasts = spark.createDataFrame(
        [(1, datetime(2026, 11, 4, 8), t, 0.4, 0.3, 0.5), (1, datetime(2026, 11, 4, 9), t, 0.6, 0.5, 0.7)],
        "zone_id BIGINT, forecast_made_at TIMESTAMP, target_hour TIMESTAMP, predicted_occupancy_rate DOUBLE, "
        "lower_occupancy_rate DOUBLE, upper_occupancy_rate DOUBLE")
    metrics = spark.createDataFrame([(1, t, 0.55)], "zone_id BIGINT, hour_start TIMESTAMP, occupancy_rate DOUBLE")
    expected = spark.createDataFrame([(1, t, 0.6, 0.5, 0.7, 0.55)],
                                     "zone_id BIGINT, target_hour TIMESTAMP, predicted_occupancy_rate DOUBLE, "
                                     "lower_occupancy_rate DOUBLE, upper_occupancy_rate DOUBLE, "
                                     "actual_occupancy_rate DOUBLE")
    assert_df_equality(forecast_vs_actual_frame(forecasts, metrics), expected, ignore_nullable=True)


@pytest.fixture(scope="module")
def city_with_forecasts(spark, gold_city, small_city, tmp_path_factory):
    """A copy of the gold city with forecasts for its hours (actual +/- noise: what the page draws)."""
    from conftest import copy_city

    src, _ = gold_city
    config = copy_city(Path(src.storage_root), tmp_path_factory.mktemp("dash") / "city")
    metrics = read_table(spark, config, "gold.zone_metrics_hourly")
    columns = [c.strip().split()[0] for c in ZONE_OCCUPANCY_FORECAST_DDL.split(",")]
    predicted = F.least(F.lit(1.0), F.col("occupancy_rate") * 0.9 + 0.03)
    forecasts = metrics.select(
        "zone_id", (F.col("hour_start") - F.expr("INTERVAL 1 HOUR")).alias("forecast_made_at"),
        F.col("hour_start").alias("target_hour"), F.lit(1).alias("horizon_hours"),
        predicted.alias("predicted_occupancy_rate"),
        F.greatest(F.lit(0.0), predicted - 0.1).alias("lower_occupancy_rate"),
        F.least(F.lit(1.0), predicted + 0.1).alias("upper_occupancy_rate"),
        (predicted * F.col("capacity")).alias("predicted_occupied"), F.col("capacity").cast("double"),
        F.lit("occupancy_forecaster").alias("model_name"), F.lit("1").alias("model_version"),
        F.current_timestamp().alias("scored_at"), F.to_date("hour_start").alias("forecast_date")).select(*columns)
    overwrite_table(forecasts, config, ZONE_OCCUPANCY_FORECAST)
    return config


@pytest.fixture(scope="module")
def report(spark, city_with_forecasts, tmp_path_factory):
    return write_dashboard(spark, city_with_forecasts, tmp_path_factory.mktemp("report") / "dashboard.html")


def test_the_report_is_self_contained(spark, city_with_forecasts, report):
    html = report.read_text()
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert "<script src" not in html and "<link" not in html
    data = dashboard_data(spark, city_with_forecasts)
    zones = read_table(spark, city_with_forecasts, "gold.dim_zone").where("is_current").count()
    assert len(data["zones"]["rows"]) == zones == 8
    assert len(data["forecast"]["rows"]) == read_table(spark, city_with_forecasts, "gold.zone_metrics_hourly").count()
    hostile = render_dashboard({**data, "zones": {"columns": ["name"], "rows": [["x</script>"]]}})
    assert '[["x\\u003c/script>"]]' in hostile and "x</script>" not in hostile


def _colour_pixels(png, colour, tolerance: int = 6) -> int:
    image = Image.open(png).convert("RGB")
    return sum(n for rgb, n in Counter(image.getdata()).items()
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, colour, strict=True)))


def _heat_shades(png) -> int:
    """Distinct colours on the heat map's yellow-to-red ramp (255-55t, 237-190t, 160-140t)."""
    image = Image.open(png).convert("RGB")
    shades = set()
    for r, g, b in set(image.getdata()):
        t = (255 - r) / 55 if r < 255 else 0.0
        if 0.05 < t <= 1 and abs(g - (237 - 190 * t)) <= 4 and abs(b - (160 - 140 * t)) <= 4:
            shades.add((r, g, b))
    return len(shades)


@pytest.mark.slow
def test_the_dashboard_renders_every_chart_in_headless_chromium(report, tmp_path):
    png = screenshot(report.as_uri(), tmp_path / "dashboard.png")
    assert _colour_pixels(png, BAR) > 20_000  # two bar charts: circling by zone, busiest zones
    assert _colour_pixels(png, LINE) > 50  # circling trend
    assert _colour_pixels(png, BAND) > 5_000  # forecast interval
    assert _colour_pixels(png, ACTUAL) > 200  # actual occupancy line
    assert _heat_shades(png) >= 10  # heat map: hour x weekday in many shades
    dom = dump_dom(report.as_uri())
    assert 'data-rendered="true"' in dom and 'data-zones="8"' in dom
    for chart in ("circling-by-zone", "circling-trend", "busiest-zones", "competitor-scatter", "occupancy-heatmap",
                  "forecast-vs-actual"):
        points = re.search(rf'id="chart-{chart}"[^>]*data-points="(\d+)"', dom)
        assert points and int(points.group(1)) > 0, chart
    assert dom.count('class="dot"') == 8  # one dot per zone on the competitor view


@pytest.mark.slow
def test_the_readme_screenshot_tool_draws_the_charts_small(report, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard_screenshot", Path(__file__).parents[2] / "tools" /
                                                  "dashboard_screenshot.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / "readme.png"
    assert tool.main(["--root", str(report.parent), "--out", str(out), "--width", "800"]) == 0
    image = Image.open(out)
    assert image.width == 800 and out.stat().st_size < 400_000
    assert _colour_pixels(out, BAR) > 2_000  # the bar charts survived the scaling and the palette
    assert tool.main(["--root", str(tmp_path / "nowhere")]) == 2
    assert "run `make demo` first" in capsys.readouterr().err


@pytest.mark.slow
def test_filtering_by_operator_and_zone_redraws_for_the_selection(spark, city_with_forecasts, report, tmp_path):
    zones = read_table(spark, city_with_forecasts, "gold.dim_zone").where("is_current").collect()
    operator, count = Counter(z.operator for z in zones).most_common(1)[0]
    assert 0 < count < len(zones)
    dom = dump_dom(report.as_uri() + "#operator=" + operator.replace(" ", "%20"))
    assert f'data-zones="{count}"' in dom
    assert dom.count('class="dot selected"') == count  # the operator's zones highlighted among all
    zone = next(z for z in zones if z.operator == operator)
    one = dump_dom(report.as_uri() + f"#operator={operator.replace(' ', '%20')}&zone={zone.zone_id}")
    assert 'data-zones="1"' in one and one.count('class="dot selected"') == 1
    png = screenshot(report.as_uri() + f"#operator={operator.replace(' ', '%20')}", tmp_path / "filtered.png")
    assert _colour_pixels(png, HIGHLIGHT) > 100


def test_an_empty_gold_draws_no_charts_and_says_so(tmp_path):
    empty = {"generated_at": "now", "zones": {"columns": ["zone_id", "name", "operator", "city", "zone_type",
                                                           "capacity"], "rows": []},
             "days": {"columns": [], "rows": []}, "week": {"columns": [], "rows": []},
             "forecast": {"columns": [], "rows": []}}
    page = tmp_path / "empty.html"
    page.write_text(render_dashboard(empty))
    png = screenshot(page.as_uri(), tmp_path / "empty.png")
    assert _colour_pixels(png, BAR) == 0 and _colour_pixels(png, BAND) == 0 and _heat_shades(png) == 0
    assert dump_dom(page.as_uri()).count("no data for this selection") >= 4
