"""Step options: text -> value (blank = not given), and how each one changes the config."""

from __future__ import annotations

import pytest

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps import STEPS
from parkpal_lakehouse.steps.step import StepArgumentError, lakehouse_config, root_config


def config_of(script: str, *argv: str, root):
    step = STEPS[script]
    return step.config(step.parser().parse_args([f"--storage_root={root}", *argv]), door="job")


def test_options_without_a_value_leave_the_config_as_the_target_defines_it(tmp_path):
    assert config_of("parkpal-ingest", root=tmp_path) == root_config(tmp_path)
    assert config_of("parkpal-ingest", "--trigger=", "--source=", "--max_files_per_trigger=", root=tmp_path) == \
        root_config(tmp_path)


def test_each_config_option_changes_its_setting(tmp_path):
    config = config_of("parkpal-ingest", "--source=kafka", "--bootstrap_servers=b:9092", "--max_files_per_trigger=3",
                       "--max_offsets_per_trigger=500", "--trigger=10 seconds", "--no_quality=true",
                       "--state_buckets=4096", root=tmp_path)
    assert config.sessions.state_buckets == 4096
    assert (config.source.kind, config.source.bootstrap_servers) == ("kafka", "b:9092")
    assert (config.source.max_files_per_trigger, config.source.max_offsets_per_trigger) == (3, 500)
    assert config.stream.trigger == "processingTime=10 seconds" and not config.stream.quality_checks
    assert not config_of("parkpal-gold-hourly", "--no_optimize", root=tmp_path).gold.optimize_after_write
    assert config_of("parkpal-forecast-train", "--horizons=2,12", root=tmp_path).forecast.reported_horizons == (2, 12)


@pytest.mark.parametrize(("argv", "message"), [
    (["--source=pigeon"], "invalid choice: 'pigeon' (choose from landing, kafka, eventhubs)"),
    (["--max_files_per_trigger=0"], "must be at least 1, not 0"),
    (["--trigger=soon"], "expected availableNow or processingTime='10 seconds', not 'soon'"),
    (["--hubs=activity-events,parking-events"], "unknown hub parking-events"),
    (["--no_quality=maybe"], "expected true or false, not 'maybe'"),
    (["--state_buckets=0"], "must be at least 1, not 0"),
])
def test_a_bad_value_names_the_option_and_what_was_expected(argv, message):
    with pytest.raises(StepArgumentError, match="argument --") as error:
        STEPS["parkpal-ingest"].parser().parse_args(argv)
    assert message in str(error.value)


def test_the_one_builder_refuses_what_a_target_cannot_run(tmp_path):
    with pytest.raises(ParkPalError, match="--storage_root /nowhere/lake does not exist"):
        lakehouse_config({"storage_root": "/nowhere/lake"}, root_flag="--storage_root")
    assert lakehouse_config({"storage_root": str(tmp_path / "new")}, new_root=True).storage_root.endswith("/new")
    with pytest.raises(ParkPalError, match="target dev needs --catalog and an abfss:// --storage_root"):
        lakehouse_config({"target": "dev", "catalog": "c", "storage_root": str(tmp_path)})
