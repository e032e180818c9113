"""The gold quality suite: great-expectations on each computed range before it is written.

Two frames are validated: the zone-hour metrics themselves, and a reconciliation of the range
against silver (every zone-hour with events has a metrics row; revenue per hour equals the silver
payments: completed minus refunded). A failing `fail` expectation stops the job before anything of
the range is written; every result goes to `ops.quality_results`.
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from parkpal_lakehouse.gold.keys import hour_of
from parkpal_lakehouse.gold.metrics import HourlyInputs
from parkpal_lakehouse.quality.expectations import Expectation, Policy

# Occupancy above capacity happens (double parking, a missed exit read), but not by much.
MAX_OCCUPANCY_RATE = 1.05
REVENUE_TOLERANCE = 0.005  # currency units, for floating-point sums

ZONE_METRICS_SUITE: tuple[Expectation, ...] = (
    Expectation("gold_occupancy_rate_0_to_1_05",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="occupancy_rate", min_value=0.0,
                                                          max_value=MAX_OCCUPANCY_RATE), Policy.FAIL),
    Expectation("gold_peak_occupancy_rate_0_to_1_05",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="peak_occupancy_rate", min_value=0.0,
                                                          max_value=MAX_OCCUPANCY_RATE), Policy.WARN),
    # The street all-driver estimate lies inside its own interval (gated zones: all three equal);
    # `with_check_columns` adds the column this checks.
    Expectation("gold_occupancy_inside_its_interval",
                lambda: gxe.ExpectColumnValuesToBeInSet(column="occupancy_in_interval", value_set=[True]),
                Policy.FAIL),
    Expectation("gold_circling_not_negative",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="circling_seconds_min", min_value=0.0),
                Policy.FAIL),
    # NaN or Infinity anywhere (a non-finite amount would make revenue NaN) fails the range: the
    # validator treats NaN as missing, so `with_check_columns` adds the column this checks.
    Expectation("gold_numbers_finite",
                lambda: gxe.ExpectColumnValuesToBeInSet(column="all_numbers_finite", value_set=[True]), Policy.FAIL),
    Expectation("gold_zone_hour_keys_present",
                lambda: gxe.ExpectColumnValuesToNotBeNull(column="hour_start"), Policy.FAIL),
    Expectation("gold_capacity_positive",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="capacity", min_value=1), Policy.FAIL),
    # Most of an hour's zone events should arrive valid; a drop points at a broken gate or app release.
    Expectation("gold_data_completeness_at_least_90pct",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="data_completeness", min_value=0.9,
                                                          max_value=1.0, mostly=0.95), Policy.WARN),
)

RECONCILIATION_SUITE: tuple[Expectation, ...] = (
    Expectation("gold_metrics_for_every_active_zone_hour",
                lambda: gxe.ExpectColumnValuesToBeInSet(column="has_metrics", value_set=[True]), Policy.FAIL),
    Expectation("gold_revenue_reconciles_with_silver_payments",
                lambda: gxe.ExpectColumnValuesToBeBetween(column="revenue_difference", min_value=-REVENUE_TOLERANCE,
                                                          max_value=REVENUE_TOLERANCE), Policy.FAIL),
)


def with_check_columns(metrics: DataFrame) -> DataFrame:
    """`metrics` plus what the suite checks row by row: `all_numbers_finite` (false where any float column
    is NaN or +-Infinity) and `occupancy_in_interval` (false where `occupancy_rate` lies outside
    `occupancy_rate_low..high`; true where there is no interval)."""
    floats = [f.name for f in metrics.schema.fields if f.dataType.typeName() in ("double", "float")]
    finite = [F.coalesce(~(F.isnan(c) | (F.abs(c) == F.lit(float("inf")))), F.lit(True)) for c in floats]
    inside = F.lit(True)
    if {"occupancy_rate_low", "occupancy_rate_high"} <= set(metrics.columns):
        rate, eps = F.col("occupancy_rate"), F.lit(1e-9)
        inside = F.coalesce((F.col("occupancy_rate_low") <= rate + eps) & (rate <= F.col("occupancy_rate_high") + eps),
                            F.lit(True))
    return metrics.withColumns({"all_numbers_finite": _all(finite) if finite else F.lit(True),
                                "occupancy_in_interval": inside})


def _all(columns: list[Column]) -> Column:
    result = columns[0]
    for c in columns[1:]:
        result = result & c
    return result


def reconciliation(metrics: DataFrame, inputs: HourlyInputs) -> DataFrame:
    """Per zone-hour with any activity (events or searches) in silver: whether metrics has its row, and
    per hour: metrics revenue minus silver's completed-minus-refunded payments."""
    keys = ["zone_id", "hour_start"]
    active = inputs.zone_events.select("zone_id", hour_of(F.col("event_time")).alias("hour_start")).unionByName(
        inputs.searches.select("zone_id", hour_of(F.col("zone_entry_at")).alias("hour_start"))).distinct()
    present = active.join(metrics.select(*keys, F.lit(True).alias("has_metrics")), keys, "left").select(
        *keys, F.coalesce("has_metrics", F.lit(False)).alias("has_metrics"),
        F.lit(0.0).alias("revenue_difference"))
    kind, status = F.col("event_type"), F.col("payment_status")
    signed = F.when((kind == "PAYMENT") & (status == "COMPLETED"), F.col("amount")) \
        .when((kind == "PAYMENT") & (status == "REFUNDED"), -F.col("amount"))
    silver = inputs.gate_events.groupBy(hour_of(F.col("event_time")).alias("hour_start")) \
        .agg(F.coalesce(F.sum(signed), F.lit(0.0)).alias("silver_revenue"))
    gold = metrics.groupBy("hour_start").agg(F.sum("revenue").alias("gold_revenue"))
    revenue = gold.join(silver, "hour_start", "full_outer").select(
        F.lit(None).cast("bigint").alias("zone_id"), "hour_start", F.lit(True).alias("has_metrics"),
        (F.coalesce("gold_revenue", F.lit(0.0)) - F.coalesce("silver_revenue", F.lit(0.0))).alias("revenue_difference"))
    return present.unionByName(revenue)
