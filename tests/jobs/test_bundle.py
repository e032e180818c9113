"""The bundle in jobs/ is valid for every target, and each kind of mistake in it is caught."""

import pytest
import yaml

from parkpal_lakehouse.jobs.bundle import BundleError, load_bundle, resolve_job, target_variables, task_order
from parkpal_lakehouse.jobs.validation import validate_bundle
from parkpal_lakehouse.runtime.session import CODEGEN_CACHE_ENTRIES, DATAFRAME_QUERY_CONTEXT, HUGE_METHOD_LIMIT
from tests.jobs.conftest import BUNDLE, REPO


def test_the_bundle_is_valid_for_every_target():
    bundle, problems = validate_bundle(BUNDLE)
    assert problems == []
    assert set(bundle.jobs) == {"setup", "streaming", "hourly", "daily_training", "maintenance"}
    assert bundle.targets == ["local", "dev", "prod"]


def test_every_variable_has_a_value_in_every_target():
    bundle = load_bundle(BUNDLE)
    for target in bundle.targets:
        assert set(target_variables(bundle, target)) == set(bundle.variables), target


def test_every_wheel_task_names_a_project_script_and_every_notebook_exists():
    scripts = __import__("tomllib").loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    bundle = load_bundle(BUNDLE)
    kinds = set()
    for key in bundle.jobs:
        for task in resolve_job(bundle, key, "dev").tasks:
            kinds.add(task.kind)
            if task.kind == "python_wheel_task":
                assert task.entry_point in scripts, (key, task.key)
            else:
                assert task.notebook.is_file() and task.notebook.is_relative_to(REPO / "notebooks"), (key, task.key)
    assert kinds == {"python_wheel_task", "notebook_task"}


def test_hourly_job_runs_gold_then_quality_then_scoring_every_hour_in_manila():
    job = resolve_job(load_bundle(BUNDLE), "hourly", "prod")
    assert [t.key for t in task_order(job)] == ["gold_hourly", "gold_quality", "forecast_score"]
    assert job.spec["schedule"] == {"quartz_cron_expression": "0 10 * * * ?", "timezone_id": "Asia/Manila",
                                    "pause_status": "UNPAUSED"}
    assert job.spec["max_concurrent_runs"] == 1


def test_targets_resolve_names_and_paths_per_environment():
    bundle = load_bundle(BUNDLE)
    local = resolve_job(bundle, "hourly", "local", {"storage_root": "/data/lake"})
    assert local.parameters["storage_root"] == "/data/lake"
    assert local.parameters["target"] == "local"
    score = next(t for t in local.tasks if t.key == "forecast_score")
    assert score.named_parameters["history"] == "/data/lake/history/zone_occupancy_hourly.csv"  # var in a var
    dev = resolve_job(bundle, "hourly", "dev")
    assert dev.parameters["schema_prefix"].endswith("_") and dev.parameters["catalog"] == "parkpal_dev"
    assert dev.parameters["storage_root"] == "abfss://{container}@stparkpaldevlake.dfs.core.windows.net"
    assert dev.spec["email_notifications"]["on_failure"] == []  # a complex (list) variable stays a list
    streaming = resolve_job(bundle, "streaming", "prod")
    wheel = streaming.tasks[0].named_parameters
    assert (wheel["source"], wheel["trigger"]) == ("eventhubs", "processingTime=30 seconds")
    cluster = streaming.spec["job_clusters"][0]["new_cluster"]
    assert "RocksDBStateStoreProvider" in cluster["spark_conf"]["spark.sql.streaming.stateStore.providerClass"]
    assert cluster["num_workers"] == 2 and "autoscale" not in cluster
    # The cluster splits whole-stage code where the local session does (HotSpot's JIT limit).
    assert cluster["spark_conf"]["spark.sql.codegen.hugeMethodLimit"] == str(HUGE_METHOD_LIMIT)
    assert cluster["spark_conf"]["spark.sql.inMemoryColumnarStorage.compressed"] == "false"
    assert cluster["spark_conf"]["spark.sql.codegen.cache.maxEntries"] == str(CODEGEN_CACHE_ENTRIES)
    # Every job cluster builds its plans without PySpark's DataFrame query context, as the local session does.
    clusters = [c["new_cluster"] for job in bundle.jobs for c in resolve_job(bundle, job, "prod").spec["job_clusters"]]
    assert len(clusters) >= 6 and all(c["spark_conf"][DATAFRAME_QUERY_CONTEXT] == "false" for c in clusters)


def test_a_deploy_time_lookup_cannot_be_used_by_a_local_run(bundle_copy):
    bundle_copy.edit("databricks.yml", lambda d: d["targets"]["local"]["variables"].update(
        catalog={"lookup": {"service_principal": "x"}}))
    with pytest.raises(BundleError, match="looked up in the workspace at deploy time"):
        resolve_job(load_bundle(bundle_copy.path), "hourly", "local")


def _hourly(document):
    return document["resources"]["jobs"]["hourly"]


def _endpoint(document: dict) -> dict:
    return document["resources"]["model_serving_endpoints"]["occupancy_forecaster"]


def _served(document: dict) -> dict:
    return _endpoint(document)["config"]["served_entities"][0]


def test_the_forecaster_endpoint_serves_the_champion_version_scaled_to_zero():
    bundle = load_bundle(BUNDLE)
    endpoint = bundle.serving_endpoints["occupancy_forecaster"]
    entity = endpoint["config"]["served_entities"][0]
    assert entity["scale_to_zero_enabled"] is True and entity["entity_version"] == "${var.forecaster_version}"
    assert entity["entity_name"] == "${var.catalog}.${var.schema_prefix}gold.occupancy_forecaster"
    assert entity["environment_vars"]["DATABRICKS_TOKEN"].startswith("{{secrets/")  # never a literal token


@pytest.mark.parametrize(("file", "change", "problem"), [
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][1]["python_wheel_task"].update(entry_point="parkpal-nope"),
     "entry point 'parkpal-nope' is not in pyproject.toml [project.scripts]"),
    ("resources/setup.yml", lambda d: d["resources"]["jobs"]["setup"]["tasks"][0]["notebook_task"].update(
        notebook_path="../../notebooks/missing.py"), "missing.py does not exist"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0].update(depends_on=[{"task_key": "forecast_score"}]),
     "depend on each other in a cycle"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0].update(depends_on=[{"task_key": "gold_daily"}]),
     "depends on unknown task(s) gold_daily"),
    ("databricks.yml", lambda d: d["targets"]["prod"]["variables"].pop("storage_root"),
     "storage_root have no value for target prod"),
    ("resources/hourly.yml", lambda d: _hourly(d)["schedule"].update(quartz_cron_expression="10 * * * *"),
     "has 5 fields; Quartz cron has 6 or 7"),
    ("resources/hourly.yml", lambda d: _hourly(d)["schedule"].update(timezone_id="Manila"), "is not a time zone id"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0].update(max_retry=2), "Unexpected field 'max_retry'"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][2]["python_wheel_task"]["named_parameters"].update(
        horizon="48"), "parkpal-forecast-score does not read parameter(s) horizon"),
    ("resources/hourly.yml", lambda d: _hourly(d)["parameters"].append({"name": "zone", "default": ""}),
     "parameter zone is read by no task"),
    ("resources/hourly.yml", lambda d: _hourly(d).update(max_concurrent_runs=3), "max_concurrent_runs must be 1"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0].update(min_retry_interval_millis=1000),
     "retries need min_retry_interval_millis"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0].update(job_cluster_key="gpu"), "unknown job_cluster_key"),
    ("databricks.yml", lambda d: d["targets"]["dev"].pop("mode"), "target dev must be the default, in development"),
    ("resources/hourly.yml", lambda d: _hourly(d)["tasks"][0]["libraries"][0].update(whl="../dist/*.whl"),
     "is not the wheel the bundle builds"),
    ("resources/model_serving.yml", lambda d: _served(d).update(scale_to_zero_enabled=False), "must scale to zero"),
    ("resources/model_serving.yml", lambda d: _served(d).update(entity_name="${var.catalog}.gold.other"),
     "not the forecaster the training job registers"),
    ("resources/model_serving.yml", lambda d: _served(d).update(entity_version="champion"),
     "entity_version must be a registered version number"),
    ("resources/model_serving.yml", lambda d: _served(d).update(min_replicas=0), "Unexpected field 'min_replicas'"),
    ("resources/model_serving.yml", lambda d: _endpoint(d)["config"]["traffic_config"]["routes"][0].update(
        traffic_percentage=50), "traffic routes must add up to 100%"),
    ("resources/model_serving.yml", lambda d: _served(d)["environment_vars"].update(
        PARKPAL_FEATURE_STORE="/dbfs/features.sqlite"), "PARKPAL_FEATURE_STORE must name gold.zone_forecast_features"),
])
def test_each_mistake_is_reported(bundle_copy, file, change, problem):
    bundle_copy.edit(file, change)
    _, problems = validate_bundle(bundle_copy.path)
    assert any(problem in p for p in problems), problems


def test_an_unknown_target_or_job_is_a_clear_error():
    bundle = load_bundle(BUNDLE)
    with pytest.raises(BundleError, match="unknown target 'staging'; the bundle has local, dev, prod"):
        resolve_job(bundle, "hourly", "staging")
    with pytest.raises(BundleError, match="unknown job 'hourlyy'"):
        resolve_job(bundle, "hourlyy", "local")


def test_variables_referring_to_each_other_in_a_cycle_are_an_error(bundle_copy):
    def cycle(d):
        d["targets"]["local"]["variables"].update(storage_root="${var.reference_folder}/x")

    bundle_copy.edit("databricks.yml", cycle)
    with pytest.raises(BundleError, match="cycle"):
        resolve_job(load_bundle(bundle_copy.path), "hourly", "local")


def test_the_bundle_yaml_is_what_databricks_reads(bundle_copy):
    # include globs the resource files; a job defined twice is refused
    extra = bundle_copy.root / "jobs" / "resources" / "again.yml"
    extra.write_text(yaml.safe_dump({"resources": {"jobs": {"hourly": {"name": "x"}}}}))
    with pytest.raises(BundleError, match="job 'hourly' is defined in both"):
        load_bundle(bundle_copy.path)
