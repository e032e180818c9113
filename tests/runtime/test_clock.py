"""The process's time zone: PySpark hands timestamps over in it, so every door makes it UTC."""

import time
from datetime import UTC, datetime

import pytest

from parkpal_lakehouse.cli import main
from parkpal_lakehouse.runtime.clock import use_utc
from parkpal_lakehouse.steps.entry_points import gold_hourly


@pytest.fixture
def manila_laptop(monkeypatch):
    """A process on a laptop set to Philippine time (what `use_utc` in conftest.py undid for the suite)."""
    monkeypatch.setenv("TZ", "Asia/Manila")
    time.tzset()
    yield
    use_utc()


def test_a_collected_timestamp_is_in_the_process_zone_until_the_command_makes_it_utc(spark, manila_laptop, capsys):
    frame = spark.createDataFrame([(datetime(2026, 11, 2, 0, 0, tzinfo=UTC),)], "t TIMESTAMP")
    assert frame.first().t == datetime(2026, 11, 2, 8, 0)  # naive, in Manila time: read as UTC, 8 hours late
    with pytest.raises(SystemExit):
        main(["--help"])
    assert frame.first().t == datetime(2026, 11, 2, 0, 0)  # naive UTC, as the pipeline reads it


def test_a_steps_entry_point_makes_the_process_utc_before_anything_else(manila_laptop, capsys):
    with pytest.raises(SystemExit) as exit_:
        gold_hourly(["--from=2026-11-04T00:00"])  # refused by the step's own check, after the door set the zone
    assert exit_.value.code == 2 and "--from and --to go together" in capsys.readouterr().err
    assert datetime.fromtimestamp(0) == datetime(1970, 1, 1, 0, 0)
