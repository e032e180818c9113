"""`columns.kept_per_driver`: a builder's result kept per Spark driver and arguments (issue 21)."""

from __future__ import annotations

from pyspark import SparkContext

from parkpal_lakehouse.columns import kept_per_driver


def test_a_builder_runs_once_per_driver_and_arguments(monkeypatch):
    built = []

    def build(horizons: int, timezone: str = "UTC") -> tuple:
        built.append((horizons, timezone))
        return (horizons, timezone, len(built))

    kept = kept_per_driver(build)
    driver, other = object(), object()
    monkeypatch.setattr(SparkContext, "_active_spark_context", driver)
    first = kept(24)
    assert kept(24) is first and kept(6) is not first and kept(24, "Asia/Manila") is not first
    assert built == [(24, "UTC"), (6, "UTC"), (24, "Asia/Manila")]
    monkeypatch.setattr(SparkContext, "_active_spark_context", other)  # a new session after stop(): its own JVM
    assert kept(24) is not first and built[-1] == (24, "UTC") and len(built) == 4
    monkeypatch.setattr(SparkContext, "_active_spark_context", None)  # Spark Connect: built every time
    assert kept(24) is not kept(24) and len(built) == 6
    assert kept.build is build and kept.__name__ == "build"
