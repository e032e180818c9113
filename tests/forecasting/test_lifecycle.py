"""Train -> validate -> score -> monitor against a real MLflow sqlite registry and real Delta tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import mlflow
import pandas as pd
import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.backtest import MODEL
from parkpal_lakehouse.forecasting.batch_inference import score_forecasts
from parkpal_lakehouse.forecasting.features import ForecastCalendar
from parkpal_lakehouse.forecasting.monitoring import run_monitoring
from parkpal_lakehouse.forecasting.registry import CHALLENGER, CHAMPION, open_registry
from parkpal_lakehouse.forecasting.series_source import SeriesSource, load_series
from parkpal_lakehouse.forecasting.training import Holdout, train_forecaster
from parkpal_lakehouse.forecasting.validation import validate_challenger
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.names import FORECAST_ACCURACY_DAILY, ZONE_OCCUPANCY_FORECAST
from tests.forecasting.conftest import forecast_config, write_gold_metrics

MANILA = ForecastCalendar.of("Asia/Manila")


@pytest.fixture(scope="module")
def lakehouse_with_gold(spark, history, tmp_path_factory):
    root = tmp_path_factory.mktemp("forecast")
    config = forecast_config(root, f"sqlite:///{root / 'mlflow.db'}")
    write_gold_metrics(spark, config, history.truth)
    series, _ = load_series(spark, config, SeriesSource())
    return config, series


@pytest.fixture(scope="module")
def trained(spark, lakehouse_with_gold):
    config, series = lakehouse_with_gold
    report = train_forecaster(spark, config, series, "gold.zone_metrics_hourly", MANILA)
    return config, series, report


@pytest.fixture(scope="module")
def promoted(spark, trained):
    config, series, _ = trained
    return validate_challenger(spark, config, open_registry(config), series, MANILA)


def test_training_logs_the_run_and_registers_a_challenger(spark, trained):
    config, series, report = trained
    registry = open_registry(config)
    assert str(registry.version(CHALLENGER).version) == report.version == "1"
    run = registry.client.get_run(report.run_id)
    assert run.info.experiment_id == registry.experiment_id
    assert run.data.params["model_max_iter"] == "300" and "training_cutoff" in run.data.params
    assert run.data.params["holiday_country"] == "PH" and run.data.params["backtest_design"] == "rolling origin"
    metrics = run.data.metrics
    assert {"mae_h24_model", "n_h24_persistence", "model_mae_h24_vs_weekday_hour_mean", "improvement_h24",
            "interval_coverage_h24", "rmse_h6_persistence"} <= set(metrics)
    # The run logs what the backtest computed: the gate reads these very figures.
    hardest = report.backtest.best_baseline(24)
    assert metrics["improvement_h24"] == pytest.approx(hardest.improvement)
    assert metrics[f"n_h24_{hardest.baseline}"] == hardest.n
    artifacts = {a.path for a in registry.client.list_artifacts(report.run_id)}
    assert {"backtest_metrics.json", "backtest_table.txt", "forecast_vs_actual.png"} <= artifacts
    info = mlflow.models.get_model_info(registry.model_uri(CHALLENGER))
    assert info.signature.inputs.input_names() == ["zone_id", "hours_ahead", "as_of"]  # served: simple requests
    assert not info.signature.inputs.inputs[2].required
    assert info.signature.outputs.input_names() == ["zone_id", "origin_hour", "target_hour", "hours_ahead",
                                                    "predicted_rate", "lower_rate", "upper_rate", "in_reporting_hours"]
    # Asked again with nothing changed (the daily job on a day without new data): nothing fitted or registered.
    again = train_forecaster(spark, config, series, "gold.zone_metrics_hourly", MANILA)
    assert again.unchanged and (again.version, again.run_id, again.backtest) == ("1", report.run_id, None)
    assert [str(v.version) for v in registry.client.search_model_versions(f"name = '{registry.model_name}'")] == ["1"]
    assert "not retrained: version 1 (@challenger" in again.lines()[-1] and "--force" in again.lines()[-1]


def test_the_backtest_compares_each_baseline_with_the_model_on_its_own_rows(trained):
    _, _, report = trained
    bt = report.backtest
    scored = bt.predictions[bt.predictions.evaluated]
    for h in (1, 24):
        at_h = scored[scored.horizon == h]
        assert bt.row(MODEL, h).n == len(at_h)
        for c in bt.comparisons(h):  # n and the model's MAE recomputed from the forecasts themselves
            defined = at_h[at_h[c.baseline].notna()]
            assert c.n == len(defined) <= len(at_h)
            assert c.model_mae == pytest.approx((defined[MODEL] - defined.actual_rate).abs().mean())
    assert bt.row("persistence", 1).n == bt.row(MODEL, 1).n  # gold has no gaps: every origin was read
    assert bt.best_baseline(24).model_mae < bt.best_baseline(24).baseline_mae
    assert bt.best_baseline(1).improvement > 0
    coverage, n = bt.coverage()
    assert n > 0 and 0.6 < coverage < 0.97  # calibrated on earlier folds only: near 80%, not 100%


def test_validation_promotes_the_first_challenger(promoted, trained):
    config, _, _ = trained
    registry = open_registry(config)
    assert promoted.promoted and promoted.champion is None
    assert str(registry.version(CHAMPION).version) == "1"
    assert registry.version(CHAMPION).tags["validation_status"] == "promoted"


def test_validation_refuses_a_challenger_that_misses_the_bar(spark, trained, promoted):
    config, series, _ = trained
    strict = replace(config, forecast=replace(config.forecast, min_improvement_over_baseline=0.95))
    second = train_forecaster(spark, strict, series, "gold", MANILA)
    decision = validate_challenger(spark, strict, open_registry(strict), series, MANILA)
    registry = open_registry(config)
    assert not decision.promoted and decision.champion == "1"
    assert any(r.startswith("FAIL baselines") for r in decision.reasons)
    # Both models scored on the hours after the newer cutoff; the verdict follows the two MAEs it reports.
    challenger_mae, champion_mae = decision.figures["holdout_mae"], decision.figures["champion_holdout_mae"]
    verdict = "pass" if challenger_mae <= champion_mae else "FAIL"
    assert [r for r in decision.reasons if "champion:" in r] == [
        f"{verdict} champion: holdout MAE (horizons 1-24) challenger {100 * challenger_mae:.2f} pp vs champion "
        f"{100 * champion_mae:.2f} pp"]
    assert str(registry.version(CHAMPION).version) == "1"
    assert str(registry.version(CHALLENGER).version) == second.version == "2"
    assert registry.client.get_model_version(registry.model_name, "2").tags["validation_status"] == "refused"


def test_scoring_without_a_champion_says_what_to_do(spark, lakehouse_with_gold, tmp_path):
    config, series = lakehouse_with_gold
    empty = replace(config, forecast=replace(config.forecast, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}",
                                             registry_uri=f"sqlite:///{tmp_path / 'm.db'}"))
    with pytest.raises(ParkPalError, match="no champion yet .*parkpal forecast validate"):
        score_forecasts(spark, empty, series)


def test_too_little_history_says_how_much_is_needed(spark, lakehouse_with_gold):
    config, series = lakehouse_with_gold
    short = series.where(F.col("hour_start") < F.lit(pd.Timestamp("2026-10-20")))
    with pytest.raises(ParkPalError, match=r"needs at least 16 days of hourly occupancy .* has \d+\.\d days"):
        train_forecaster(spark, config, short, "gold", MANILA)


def test_scoring_is_idempotent_per_run_hour(spark, trained, promoted):
    config, series, _ = trained
    last = series.agg(F.max("hour_start")).first()[0]
    as_of = last - timedelta(hours=30)
    first = score_forecasts(spark, config, series, as_of)
    table = read_table(spark, config, ZONE_OCCUPANCY_FORECAST)
    before = table.orderBy("zone_id", "target_hour").toPandas().drop(columns="scored_at")
    again = score_forecasts(spark, config, series, as_of)
    after = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).orderBy("zone_id", "target_hour").toPandas()
    pd.testing.assert_frame_equal(before, after.drop(columns="scored_at"))
    assert first.rows == again.rows == 6 * 24 and len(after) == 6 * 24
    made_at = as_of + timedelta(hours=1)
    assert (after.forecast_made_at == made_at).all() and (after.model_version == "1").all()
    assert ((after.target_hour - after.forecast_made_at) == pd.to_timedelta(after.horizon_hours - 1, "h")).all()
    assert ((after.lower_occupancy_rate <= after.predicted_occupancy_rate)
            & (after.predicted_occupancy_rate <= after.upper_occupancy_rate)).all()
    score_forecasts(spark, config, series)  # the newest hour: another run hour, added beside
    assert read_table(spark, config, ZONE_OCCUPANCY_FORECAST).select("forecast_made_at").distinct().count() == 2


def test_monitoring_scores_a_day_against_actuals(spark, trained, history):
    config, series, _ = trained
    truth = history.truth.assign(target_hour=history.truth.hour_start.dt.tz_localize(None))
    forecasts = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).toPandas()
    forecasts = forecasts[forecasts.target_hour <= truth.target_hour.max()]  # the run with actuals
    local = forecasts.target_hour.dt.tz_localize("UTC").dt.tz_convert(config.timezone).dt.date
    day = local.value_counts().idxmax()
    report = run_monitoring(spark, config, day)
    joined = forecasts[local == day].merge(truth[["zone_id", "target_hour", "occupancy_rate"]],
                                           on=["zone_id", "target_hour"])
    expected_mae = (joined.predicted_occupancy_rate - joined.occupancy_rate.clip(upper=1.0)).abs().mean()
    assert report.forecasts == len(joined) > 0
    assert report.mae == pytest.approx(expected_mae, abs=1e-9)
    rows = read_table(spark, config, FORECAST_ACCURACY_DAILY).toPandas()
    assert set(rows.accuracy_date) == {day} and rows.forecasts.sum() == len(joined)
    run_monitoring(spark, config, day)  # rerun: the day's rows replaced, not doubled
    assert read_table(spark, config, FORECAST_ACCURACY_DAILY).count() == len(rows)


def test_a_chosen_holdout_week_trains_before_it_and_validates_on_it(spark, lakehouse_with_gold, tmp_path):
    config, series = lakehouse_with_gold
    uri = f"sqlite:///{tmp_path / 'holdout.db'}"
    own = replace(config, forecast=replace(config.forecast, tracking_uri=uri, registry_uri=uri,
                                           reported_horizons=(1, 24)))
    last = series.where("occupancy_rate IS NOT NULL").agg(F.max("hour_start")).first()[0]
    window = Holdout.of(pd.Timestamp(last) - pd.Timedelta(days=3), pd.Timestamp(last) - pd.Timedelta(days=1))
    report = train_forecaster(spark, own, series, "gold", MANILA, holdout=window)
    assert report.cutoff == window.start  # the registered model never saw the window
    assert report.backtest.design == "fixed holdout"
    scored = report.backtest.predictions[report.backtest.predictions.evaluated]
    assert scored.origin_hour.min() >= window.start and scored.origin_hour.max() < window.stop
    assert any(line.startswith("1h ahead") for line in report.lines()) and not any(
        line.startswith("6h ahead") for line in report.lines())
    registry = open_registry(own)
    run = registry.client.get_run(report.run_id)
    assert run.data.params["backtest_design"] == "fixed holdout"
    assert run.data.params["training_cutoff"] == window.start.isoformat()
    with pytest.raises(ParkPalError, match="is before .* the newest training cutoff"):
        validate_challenger(spark, own, registry, series, MANILA,
                            Holdout.of(window.start - pd.Timedelta(days=1), window.stop))
    decision = validate_challenger(spark, own, registry, series, MANILA, window)
    assert decision.champion is None and any(r.startswith("pass champion: no champion yet") for r in decision.reasons)


@pytest.mark.integration
def test_the_champion_served_by_mlflow_answers_a_zone_and_hours_ahead(spark, trained, promoted, tmp_path):
    """`mlflow models serve -m models:/...@champion` (MLflow's own scoring server, in its own process): a
    request names a zone, hours ahead and optionally an as-of; the model looks up the features the scoring
    published and answers what the batch scoring wrote to gold for the same origin. Bad requests get a 400
    with the reason, and the server keeps serving."""
    import os
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import requests

    config, series, _ = trained
    registry = open_registry(config)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    venv = Path(sys.executable).parent  # MLflow starts `uvicorn` by name: the venv is on PATH as when activated
    env = {**os.environ, "MLFLOW_TRACKING_URI": config.mlflow_tracking_uri(),
           "MLFLOW_REGISTRY_URI": config.mlflow_registry_uri(), "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PARKPAL_FEATURE_STORE", None)  # the path the model was logged with
    log = (tmp_path / "serve.log").open("w")
    # Started before the scoring: the model looks its features up on each request, so the server's start (its own
    # process, MLflow's imports) overlaps the two scoring runs below instead of following them (issue 21).
    server = subprocess.Popen([str(venv / "mlflow"), "models", "serve", "-m",
                               f"models:/{registry.model_name}@{CHAMPION}", "--env-manager", "local",
                               "-h", "127.0.0.1", "-p", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        last = series.agg(F.max("hour_start")).first()[0]
        earlier = last - timedelta(hours=5)
        score_forecasts(spark, config, series, earlier)
        score_forecasts(spark, config, series)
        gold = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).toPandas()
        deadline = time.monotonic() + 180
        while True:
            try:
                if requests.get(f"{url}/ping", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-2000:]
            time.sleep(0.25)

        def invoke(records):
            return requests.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=60)

        zone = int(gold.zone_id.min())
        answer = invoke([{"zone_id": zone, "hours_ahead": 3},
                         {"zone_id": zone, "hours_ahead": 24, "as_of": (earlier + timedelta(minutes=30)).isoformat()}])
        assert answer.status_code == 200, answer.text
        newest, older = answer.json()["predictions"]
        for got, origin, hours in ((newest, last, 3), (older, earlier, 24)):
            assert got["origin_hour"] == f"{origin:%Y-%m-%dT%H:00:00Z}" and got["hours_ahead"] == hours
            row = gold[(gold.zone_id == zone) & (gold.forecast_made_at == origin + timedelta(hours=1))
                       & (gold.horizon_hours == hours)]
            if got["in_reporting_hours"]:  # the batch job writes only the zones' reporting hours
                assert got["predicted_rate"] == pytest.approx(row.predicted_occupancy_rate.item())
                assert got["lower_rate"] == pytest.approx(row.lower_occupancy_rate.item())
                assert got["upper_rate"] == pytest.approx(row.upper_occupancy_rate.item())
            else:
                assert row.empty
        for bad, reason in (([{"zone_id": zone, "hours_ahead": 0}], "hours_ahead must be 1-24"),
                            ([{"zone_id": 999_999, "hours_ahead": 1}], "no features for zone 999999"),
                            ([{"zone_id": zone, "hours_ahead": 1, "as_of": "yesterday'; DROP TABLE x"}], "as_of"),
                            ([{"zone_id": "1; DROP TABLE forecast_features", "hours_ahead": 1}], ""),
                            ([{"hours_ahead": 1}], "")):
            refused = invoke(bad)
            assert refused.status_code == 400 and reason in refused.text, (bad, refused.status_code, refused.text)
            assert "Traceback" not in refused.text and str(config.storage_root) not in refused.text, refused.text
        assert invoke([{"zone_id": zone, "hours_ahead": 3}]).json()["predictions"][0] == newest  # still serving
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


class SparkWarehouse:
    """What the SDK sends a SQL warehouse, run in the local Spark session and answered with the SDK's own
    response types (JSON_ARRAY: every cell as text): the workspace lookup checked offline."""

    def __init__(self, spark) -> None:
        self.spark, self.statement_execution, self.calls = spark, self, []

    def execute_statement(self, statement, warehouse_id, *, parameters, wait_timeout, format, disposition):
        from databricks.sdk.service.sql import (
            ColumnInfo,
            ColumnInfoTypeName,
            ResultData,
            ResultManifest,
            ResultSchema,
            StatementResponse,
            StatementState,
            StatementStatus,
        )

        cast = {"STRING": str, "INT": int, "BIGINT": int}
        self.calls.append((statement, warehouse_id, {p.name: (p.value, p.type) for p in parameters}))
        frame = self.spark.sql(statement, args={p.name: cast[p.type](p.value) for p in parameters})
        kinds = {"bigint": "LONG", "int": "INT", "double": "DOUBLE", "boolean": "BOOLEAN"}
        columns = [ColumnInfo(name=f.name, position=i, type_name=ColumnInfoTypeName(kinds.get(f.dataType.simpleString(),
                                                                                              "STRING")))
                   for i, f in enumerate(frame.schema.fields)]
        data = [[None if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in row]
                for row in frame.collect()]
        return StatementResponse(statement_id="local", status=StatementStatus(state=StatementState.SUCCEEDED),
                                 manifest=ResultManifest(schema=ResultSchema(columns=columns)),
                                 result=ResultData(data_array=data))


def test_the_workspace_lookup_reads_the_same_features_through_a_warehouse(spark, trained, promoted):
    """In a workspace the served model reads gold.zone_forecast_features through a SQL warehouse
    (`WarehouseFeatures`): the same statement, typed parameters, and the same rows as the local store."""
    from parkpal_lakehouse.forecasting.model import load_occupancy_model
    from parkpal_lakehouse.forecasting.online import (
        LOOKUP_SQL,
        SqliteFeatures,
        WarehouseFeatures,
        feature_store_path,
        lookup_features,
    )
    from parkpal_lakehouse.names import ZONE_FORECAST_FEATURES

    config, series, _ = trained
    score_forecasts(spark, config, series)
    warehouse = SparkWarehouse(spark)
    remote = WarehouseFeatures("wh-123", config.table_name(ZONE_FORECAST_FEATURES), client=warehouse)
    local = SqliteFeatures(feature_store_path(config))
    zones = sorted(read_table(spark, config, ZONE_FORECAST_FEATURES).select("zone_id").distinct().toPandas().zone_id)
    requests = pd.DataFrame({"zone_id": [int(zones[0]), int(zones[-1]), int(zones[0])], "hours_ahead": [1, 12, 24]})
    from_warehouse, from_file = lookup_features(remote, requests), lookup_features(local, requests)
    pd.testing.assert_frame_equal(from_warehouse, from_file, check_dtype=False)
    model = load_occupancy_model(open_registry(config).model_uri(CHAMPION))
    pd.testing.assert_frame_equal(model.predict_frame(from_warehouse), model.predict_frame(from_file))
    statement, warehouse_id, parameters = warehouse.calls[0]
    # the request's values travel as typed parameters, never in the statement's text
    assert warehouse_id == "wh-123" and statement == LOOKUP_SQL.format(table=config.table_name(ZONE_FORECAST_FEATURES))
    assert parameters == {"zone_id": (str(zones[0]), "STRING"), "horizon": ("1", "INT"),
                          "as_of": (str(2**62), "BIGINT")}
    with pytest.raises(ParkPalError, match="not a table name"):
        WarehouseFeatures("wh-123", "gold.x; DROP TABLE gold.y")
