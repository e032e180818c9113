"""The gold tests' shared city: the small simulated city's tables copied, then the hourly job run once."""

from __future__ import annotations

import shutil
from dataclasses import replace

import pytest

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.gold.hourly import run_hourly
from parkpal_lakehouse.runtime.session import register_local_catalog


def copy_city(src, dst):
    for part in ("tables", "truth", "reference"):
        shutil.copytree(src / part, dst / part)
    config = local_config(dst)
    # Changes are found from the last run's start; no margin, so a test sees exactly what it wrote.
    return replace(config, gold=replace(config.gold, change_margin_minutes=0, optimize_after_write=False))


@pytest.fixture(scope="session")
def gold_city(spark, ingested_city, small_city, tmp_path_factory):
    config = copy_city(small_city.root, tmp_path_factory.mktemp("gold") / "city")
    register_local_catalog(spark, config)
    report = run_hourly(spark, config, progress=lambda _m: None)
    return config, report


