"""Fact tables: one row per parking search (`gold.fact_parking_sessions`) and one per gated visit
(`gold.fact_gate_sessions`). Pure functions from silver DataFrames; `hourly.py` does the I/O."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from parkpal_lakehouse.gold.keys import date_key, hour_key, hour_of, local_date, pseudonym

# A payment belongs to the visit of the same plate at the same zone that it falls within (or this soon
# after the exit: some gates record the payment after the barrier opens).
PAYMENT_AFTER_EXIT_SLACK = "15 minutes"


def fact_parking_sessions(sessions: DataFrame, key: str, timezone: str) -> DataFrame:
    """`silver.parking_sessions` rows as facts: local date/hour keys of the zone entry, keyed-hash
    user and search keys instead of the user id and silver's session id (a plain hash of the user),
    nothing else about the person."""
    entry = F.col("zone_entry_at")
    return sessions.select(
        pseudonym(F.col("session_id"), key, "session").alias("session_id"),
        pseudonym(F.col("user_id"), key, "user").alias("user_key"), "zone_id",
        date_key(entry, timezone).alias("date_key"), hour_key(entry, timezone).alias("hour_key"),
        hour_of(entry).alias("entry_hour"), "zone_entry_at", "circling_start", "parked_at", "confirmed_at",
        "departed_at", "closed_at", "circling_seconds", "parked_seconds", "outcome", "circling_is_estimate",
        "confirmation", "departure_source", "written_by", local_date(entry, timezone).alias("entry_date"),
    )


def entries_and_exits(gate_events: DataFrame) -> DataFrame:
    """Entry -> exit per vehicle visit (no payments): `visit_id, entry_event_id, exit_event_id, zone_id,
    license_plate, vehicle_type, entry_at, exit_at`. Exits name their entry (`entry_event_id`); an exit
    whose entry is missing is a visit without `entry_at`; a repeated exit read keeps the first."""
    ev = gate_events
    entries = ev.filter("event_type = 'VEHICLE_ENTRY'").select(
        F.col("event_id").alias("entry_event_id"), F.col("zone_id").alias("e_zone"),
        F.col("license_plate").alias("e_plate"), F.col("vehicle_type").alias("e_vehicle"),
        F.col("event_time").alias("entry_at"))
    exits = ev.filter("event_type = 'VEHICLE_EXIT'").select(
        F.col("event_id").alias("exit_event_id"), F.col("entry_event_id").alias("x_entry"),
        F.col("zone_id").alias("x_zone"), F.col("license_plate").alias("x_plate"),
        F.col("vehicle_type").alias("x_vehicle"), F.col("event_time").alias("exit_at"))
    # One exit per entry (a repeated exit read keeps the first).
    first_exit = Window.partitionBy("x_entry").orderBy("exit_at", "exit_event_id")
    exits = exits.withColumn("_n", F.when(F.col("x_entry").isNotNull(), F.row_number().over(first_exit)))
    exits = exits.filter((F.col("_n") == 1) | F.col("_n").isNull()).drop("_n")
    return entries.join(exits, F.col("entry_event_id") == F.col("x_entry"), "full_outer").select(
        F.coalesce("entry_event_id", "exit_event_id").alias("visit_id"),
        "entry_event_id", "exit_event_id",
        F.coalesce("e_zone", "x_zone").alias("zone_id"), F.coalesce("e_plate", "x_plate").alias("license_plate"),
        F.coalesce("e_vehicle", "x_vehicle").alias("vehicle_type"), "entry_at", "exit_at",
    )


def gate_visits(gate_events: DataFrame, max_stay_hours: int) -> DataFrame:
    """Entry -> payments -> exit per vehicle visit, from `silver.gate_events`, keeping the ids of the
    events each visit is made of (`event_ids`) so changed events can be traced to their visits.

    Exits name their entry (`entry_event_id`); a payment is matched to the same plate's visit at the
    same zone whose stay contains it; a refund to the payment with its transaction id.
    """
    ev = gate_events
    visits = entries_and_exits(ev)
    stay_end = F.coalesce(F.col("exit_at"), F.col("entry_at") + F.expr(f"INTERVAL {max_stay_hours} HOURS"))

    payments = ev.filter("event_type = 'PAYMENT' AND payment_status <> 'REFUNDED'").select(
        F.col("event_id").alias("payment_event_id"), F.col("zone_id").alias("p_zone"),
        F.col("license_plate").alias("p_plate"), F.col("event_time").alias("paid_at"), "transaction_id", "amount",
        "currency", "payment_method", "payment_status")
    candidates = payments.join(
        visits.filter(F.col("entry_at").isNotNull()).select("visit_id", "zone_id", "license_plate", "entry_at",
                                                            stay_end.alias("_stay_end")),
        (F.col("p_zone") == F.col("zone_id")) & (F.col("p_plate") == F.col("license_plate"))
        & (F.col("paid_at") >= F.col("entry_at"))
        & (F.col("paid_at") <= F.col("_stay_end") + F.expr(f"INTERVAL {PAYMENT_AFTER_EXIT_SLACK}")))
    latest_entry = Window.partitionBy("payment_event_id").orderBy(F.col("entry_at").desc())
    matched = candidates.withColumn("_n", F.row_number().over(latest_entry)).filter("_n = 1").select(
        "visit_id", "payment_event_id", "paid_at", "transaction_id", "amount", "currency", "payment_method",
        "payment_status")
    refunds = ev.filter("event_type = 'PAYMENT' AND payment_status = 'REFUNDED'").select(
        F.col("event_id").alias("refund_event_id"), F.col("transaction_id").alias("r_txn"),
        F.col("amount").alias("refunded"))
    refunds_by_txn = refunds.groupBy("r_txn").agg(F.sum("refunded").alias("refunded"),
                                                  F.collect_set("refund_event_id").alias("refund_ids"))
    last = F.struct("paid_at", "payment_event_id")
    per_visit = matched.join(refunds_by_txn, F.col("transaction_id") == F.col("r_txn"), "left").groupBy(
        "visit_id").agg(
        F.count("*").cast("int").alias("payments"),
        F.max(F.when(F.col("payment_status") == "COMPLETED", F.col("paid_at"))).alias("paid_at"),
        F.coalesce(F.sum(F.when(F.col("payment_status") == "COMPLETED", F.col("amount"))), F.lit(0.0))
        .alias("amount_paid"),
        F.coalesce(F.sum(F.when(F.col("payment_status") == "COMPLETED", F.col("refunded"))), F.lit(0.0))
        .alias("amount_refunded"),
        F.max_by("currency", last).alias("currency"),
        F.max_by("payment_method", last).alias("payment_method"),
        F.max_by("payment_status", last).alias("_last_status"),
        F.array_union(F.collect_set("payment_event_id"),
                      F.flatten(F.collect_list(F.coalesce("refund_ids", F.array().cast("array<string>")))))
        .alias("_payment_ids"),
    )
    return visits.join(per_visit, "visit_id", "left").select(
        "*",
        F.when(F.col("amount_refunded") > 0, F.lit("REFUNDED"))
        .otherwise(F.coalesce(F.col("_last_status"), F.lit("NONE"))).alias("payment_status"),
        F.when(F.col("entry_at").isNull(), F.lit("entry_missing"))
        .when(F.col("exit_at").isNotNull(), F.lit("complete")).otherwise(F.lit("inside")).alias("visit_status"),
        F.array_compact(F.array_union(F.array("entry_event_id", "exit_event_id"),
                                      F.coalesce("_payment_ids", F.array().cast("array<string>"))))
        .alias("event_ids"),
    ).drop("_last_status", "_payment_ids")


def fact_gate_sessions(visits: DataFrame, key: str, timezone: str, horizon_ms: int | None,
                       max_stay_hours: int) -> DataFrame:
    """`gate_visits` as facts. A visit still without an exit is `inside` until it has been longer than
    `max_stay_hours` before the data horizon (newest gate event), then `exit_missing`. Plates and the
    visit id (a gate event id that silver and the car park hold) become keyed hashes."""
    first_seen = F.coalesce("entry_at", "exit_at")
    status = F.col("visit_status")
    if horizon_ms is not None:
        overdue = F.col("entry_at") + F.expr(f"INTERVAL {max_stay_hours} HOURS") < F.timestamp_millis(F.lit(horizon_ms))
        status = F.when((status == "inside") & overdue, F.lit("exit_missing")).otherwise(status)
    return visits.select(
        pseudonym(F.col("visit_id"), key, "visit").alias("visit_id"), "zone_id",
        pseudonym(F.col("license_plate"), key, "plate").alias("plate_key"), "vehicle_type",
        date_key(first_seen, timezone).alias("date_key"), hour_key(first_seen, timezone).alias("hour_key"),
        hour_of(first_seen).alias("visit_hour"), "entry_at", "exit_at",
        ((F.unix_micros("exit_at") - F.unix_micros("entry_at")) / 60e6).alias("duration_minutes"),
        F.coalesce("payments", F.lit(0)).alias("payments"), "paid_at",
        F.coalesce("amount_paid", F.lit(0.0)).alias("amount_paid"),
        F.coalesce("amount_refunded", F.lit(0.0)).alias("amount_refunded"),
        (F.coalesce("amount_paid", F.lit(0.0)) - F.coalesce("amount_refunded", F.lit(0.0))).alias("net_amount"),
        "currency", "payment_method", "payment_status", status.alias("visit_status"),
        local_date(first_seen, timezone).alias("entry_date"),
    )
