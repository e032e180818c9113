"""Steps of the gold layer: the hourly job, its quality checks, table maintenance, and gold against a
simulated city's truth."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps.options import moment, positive_int, whole_number
from parkpal_lakehouse.steps.step import Option, Step, StepContext, Values

MIN_RETENTION_HOURS = 168


def chosen_hours(args: Values) -> list | None:
    """The hours `--hour` or `--from/--to` name (None: the pending hours); a malformed choice is an error."""
    from parkpal_lakehouse.gold.hours import hours_between

    start, end = getattr(args, "from"), args.to
    if (start is None) != (end is None):
        raise ParkPalError("--from and --to go together (or give --hour, or neither for the pending hours)")
    if args.hour is not None and start is not None:
        raise ParkPalError("give --hour or --from/--to, not both")
    if args.hour is not None:
        return hours_between(args.hour, args.hour.replace(minute=0) + timedelta(hours=1))
    return hours_between(start, end) if start is not None else None


def hourly(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.hourly import run_hourly

    hours = chosen_hours(args)
    report = run_hourly(ctx.spark, ctx.config, hours, repair=not args.no_repair, progress=ctx.progress,
                        dbutils=ctx.dbutils)
    print("\n".join(report.lines()))
    return 0


def gold_quality(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.audit import audit_gold

    report = audit_gold(ctx.spark, ctx.config, args.max_lag_hours)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0


def check_retention(args: Values) -> None:
    if args.retention_hours is not None and args.retention_hours < MIN_RETENTION_HOURS:
        raise ParkPalError(f"--retention-hours {args.retention_hours} would break 7-day time travel; use at least "
                           f"{MIN_RETENTION_HOURS}")


def gold_maintain(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.gold.maintenance import maintain_lakehouse

    print("\n".join(maintain_lakehouse(ctx.spark, ctx.config, args.retention_hours).lines()))
    return 0


def gold_accuracy(args: Values, ctx: StepContext) -> int:
    import pandas as pd

    from parkpal_lakehouse.gold.accuracy import gold_accuracy as compare
    from parkpal_lakehouse.io.delta import read_table
    from parkpal_lakehouse.names import ZONE_METRICS_HOURLY
    from parkpal_lakehouse.steps.silver import ground_truth

    searches, occupancy, manifest = ground_truth(ctx)
    metrics = read_table(ctx.spark, ctx.config, ZONE_METRICS_HOURLY).toPandas()
    if metrics.empty:
        raise ParkPalError("gold.zone_metrics_hourly is empty: run `parkpal hourly` first")
    settled = pd.Timestamp(manifest["window_end"], unit="s", tz="UTC") - pd.Timedelta(hours=1)
    print("\n".join(compare(metrics, occupancy, searches, settled).lines()))
    return 0


def _no_optimize(config, _value):
    return replace(config, gold=replace(config.gold, optimize_after_write=False))


STEPS = (
    Step(("hourly",), "parkpal-gold-hourly", "gold_hourly",
         "the hourly gold job: silver -> gold tables for the closed hours not computed yet, or a range (idempotent)",
         hourly,
         (Option("hour", "one hour, e.g. 2026-11-02T08:00 (UTC unless an offset is given)", parse=moment),
          Option("from", "first hour of a range to recompute (empty: every closed hour not computed yet)",
                 parse=moment),
          Option("to", "exclusive end of that range", parse=moment),
          Option("no_repair", "skip re-sessionizing users with late events first", switch=True),
          Option("no_optimize", "skip OPTIMIZE of the partitions written", switch=True, to_config=_no_optimize)),
         check=chosen_hours),
    Step(("gold", "quality"), "parkpal-gold-quality", "gold_quality",
         "gold quality checks after the hourly write (exit 1 if a failing expectation fails)", gold_quality,
         (Option("max_lag_hours", "hours gold may trail silver's closed hours before the check fails",
                 parse=whole_number, default=3),)),
    Step(("gold", "maintain"), "parkpal-maintain", "maintain_tables",
         "OPTIMIZE (Z-order) the gold tables and VACUUM bronze/silver/gold", gold_maintain,
         (Option("retention_hours", f"history VACUUM keeps (default {MIN_RETENTION_HOURS} = 7 days; less is "
                 "refused)", parse=positive_int),), check=check_retention),
    Step(("gold", "accuracy"), "parkpal-gold-accuracy", "gold_accuracy",
         "compare zone_metrics_hourly with the simulator's ground truth", gold_accuracy),
)
