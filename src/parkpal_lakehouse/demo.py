"""`parkpal demo`: the whole pipeline on the embedded default, as the bundle's jobs run it.

Simulates a city (and weeks of earlier occupancy for forecasting), then runs the jobs of
`jobs/databricks.yml` for the local target with the local runner, the same task graph Databricks runs:
setup, streaming (availableNow), hourly (gold -> quality -> scoring), daily training (train ->
validate; monitoring). Resumes on an existing root (or starts over with `fresh`), prints a short
summary with where the tables are, and ends by writing the operator dashboard (its path and the serve
commands are the last lines).

A root remembers the city it simulated (`demo.json`): resuming it with another city's options, or a
root an older ParkPal made, is a one-line error that says to use `--fresh` or another `--root`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from pyspark.sql import functions as F

from parkpal_lakehouse.balance import ingestion_balance, last_balance
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.registry import CHAMPION, open_registry
from parkpal_lakehouse.gold.accuracy import gold_accuracy
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.jobs.runner import run_job
from parkpal_lakehouse.names import (
    FORECAST_ACCURACY_DAILY,
    QUALITY_RESULTS,
    ZONE_METRICS_HOURLY,
    ZONE_OCCUPANCY_FORECAST,
    ZONE_STATUS,
)
from parkpal_lakehouse.runtime.console import LIBRARY_LOG_ENV, library_log_path, library_output_to
from parkpal_lakehouse.serving.dashboard import write_dashboard
from parkpal_lakehouse.sessions.accuracy import session_accuracy
from parkpal_lakehouse.sessions.store import sessions_found
from parkpal_lakehouse.simulator.history import HISTORY_CSV, write_history
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import load_stays, load_truth, parked_at_instant
from parkpal_lakehouse.steps.step import StepContext, root_config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from parkpal_lakehouse.config import LakehouseConfig
    from parkpal_lakehouse.runtime.console import Console

# The default city: small enough for `make demo` to take a few minutes on a 2-core laptop (fixed costs
# dominate: a 50-zone, 5,000-user city took 40 s more); --zones/--users/--days scale it up.
DEMO_DAYS, DEMO_ZONES, DEMO_USERS = 2, 20, 2_000
# Weeks of occupancy before the streamed days, so that forecasting has history to learn from.
DEMO_HISTORY_WEEKS = 6
DEFAULT_DEMO_ROOT = "./lakehouse"
# What a demo root holds and how it is laid out; bump when a new version cannot resume an older root.
DEMO_LAYOUT = 3  # 3: the sessions stream keeps its state in buckets of users (issue 21)
DEMO_STAMP = "demo.json"


def _city(settings: SimulationSettings) -> dict[str, object]:
    return {"layout": DEMO_LAYOUT, "days": settings.days, "zones": settings.zones, "users": settings.users,
            "device": settings.device, "seed": settings.seed}


def check_demo_root(root: Path, settings: SimulationSettings) -> None:
    """A root to resume must be this version's, of the city asked for (else one line says what to do)."""
    if not (root / "truth" / "manifest.json").is_file():
        if root.is_dir() and any(p.name != "logs" for p in root.iterdir()):
            raise ParkPalError(f"{root} is not empty and holds no demo city: give `--root` a new folder, or "
                               "`--fresh` to delete it and start over")
        return
    stamp = root / DEMO_STAMP
    if not stamp.is_file():
        raise ParkPalError(f"{root} holds a city this version's demo did not make (an older ParkPal, or `parkpal "
                           f"simulate`; no {DEMO_STAMP}): run `parkpal demo --fresh` (deletes it) or choose another "
                           "--root")
    made = json.loads(stamp.read_text())
    if made.get("layout") != DEMO_LAYOUT:
        raise ParkPalError(f"{root} was made by another ParkPal version (layout {made.get('layout')}, this one "
                           f"{DEMO_LAYOUT}): run `parkpal demo --fresh` (deletes it) or choose another --root")
    asked = _city(settings)
    differ = [f"--{k} {asked[k]} (it has {made.get(k)})" for k in ("days", "zones", "users", "device")
              if made.get(k) != asked[k]]
    if differ:
        raise ParkPalError(f"{root} holds another simulated city: {', '.join(differ)}; add --fresh to simulate "
                           "this one there, or choose another --root")


def _simulate(root: Path, settings: SimulationSettings, progress: Callable[[str], None]) -> None:
    if (root / "truth" / "manifest.json").is_file():
        progress(f"reusing the simulated city in {root} (use --fresh to start over)")
        return
    report = simulate(settings, root, progress=progress)
    progress(f"simulated {report.messages:,} messages at {report.events_per_second:,.0f}/s")
    path, _ = write_history(settings, DEMO_HISTORY_WEEKS, root)
    progress(f"simulated {DEMO_HISTORY_WEEKS} weeks of earlier hourly occupancy into {path}")
    (root / DEMO_STAMP).write_text(json.dumps(_city(settings), indent=1))


def run_demo(root: Path, days: int, fresh: bool, progress: Callable[[str], None], zones: int = DEMO_ZONES,
             users: int = DEMO_USERS, bundle: str | Path | None = None, device: str = "platform",
             console: Console | None = None, library_log: Path | None = None) -> int:
    """The demo. `console` (runtime/console.py), when given, is the progress and watches Spark between
    events (a live status on a terminal, a heartbeat line elsewhere); with `library_log`, libraries'
    output goes to that file (`library_output_to`) instead of the terminal."""
    progress = console or progress
    settings = SimulationSettings(days=days, zones=zones, users=users, device=device)
    if fresh and root.exists():
        progress(f"--fresh: removing {root}")
        shutil.rmtree(root)
    check_demo_root(root, settings)
    with library_output_to(library_log) if library_log is not None else contextlib.nullcontext():
        if library_log is not None:
            progress(f"library logs (Spark, MLflow, ...) go to {library_log}; --verbose shows them here")
        return _demo(root, settings, bundle, progress, console)


def _demo(root: Path, settings: SimulationSettings, bundle: str | Path | None, progress: Callable[[str], None],
          console: Console | None) -> int:
    _simulate(root, settings, progress)
    config = root_config(root)
    started = time.perf_counter()
    spark = StepContext(config, progress).spark  # one session: every job's tasks run in this process
    progress(f"Spark {spark.version} with Delta ready in {time.perf_counter() - started:.1f}s")
    with console.watching(spark) if console is not None else contextlib.nullcontext():
        code = _run_jobs(spark, config, root, bundle, progress)
    _print_where_to_look(config, root)
    return code


def _run_jobs(spark: SparkSession, config: LakehouseConfig, root: Path, bundle: str | Path | None,
              progress: Callable[[str], None]) -> int:
    """The bundle's jobs in the order Databricks would run them, then the summary and the dashboard."""

    def job(key: str, parameters: Mapping[str, str] | None = None, tasks: Iterable[str] | None = None) -> None:
        clock = time.perf_counter()
        progress(f"job {key}" + (f" (tasks {', '.join(tasks)})" if tasks else "") + " from the bundle, target local")
        run = run_job(key, bundle_path=bundle, variables={"storage_root": str(root)}, parameters=parameters,
                      only=tasks, progress=progress)
        progress(f"{run.lines()[0]} ({time.perf_counter() - clock:.0f}s)")
        if not run.succeeded:
            raise ParkPalError(f"job {key} failed (its error is above); fix it and run the demo again to resume")

    job("setup")
    job("streaming")
    live_scored_by = _champion_version(config)  # the hourly job's forecast_score scores with this one
    job("hourly")
    if (root / "history" / HISTORY_CSV).is_file():
        job("daily_training", tasks=["forecast_train", "forecast_validate"])
        # Replay the hourly scoring from just before the streamed days (its targets now have actuals), then
        # the live forecast, then the daily monitoring of the first full day. On a resumed demo, forecasts
        # the champion has already made from the same inputs are not made again (issue 21).
        champion = _champion_version(config)
        replay = read_table(spark, config, ZONE_METRICS_HOURLY).agg(F.min("hour_start")).first()[0] - timedelta(hours=1)
        if champion is not None and _forecasts_made(spark, config, replay + timedelta(hours=1), champion):
            progress(f"replayed forecasts from {replay:%Y-%m-%d %H:00} UTC: already made by version {champion} "
                     "(from the history alone), not scored again")
        else:
            job("hourly", {"as_of": replay.isoformat()}, tasks=["forecast_score"])
        if champion is not None and champion == live_scored_by:
            progress(f"live forecasts: the hourly job just made them with version {champion} (still @{CHAMPION})")
        else:
            job("hourly", tasks=["forecast_score"])
        job("daily_training", tasks=["forecast_monitor"])
    else:
        progress(f"forecasting skipped: no occupancy history in {root / 'history'} (an older demo root: --fresh)")
    progress("comparing the results with the simulated truth")
    # The streaming job checked and recorded the balance; counted again only if it could have changed since.
    balance = last_balance(spark, config) or ingestion_balance(spark, config).collect()
    _print_report(spark, config, root, balance)
    dashboard = write_dashboard(spark, config, Path(config.storage_root) / "dashboard.html")
    progress(f"operator dashboard written to {dashboard}")
    return 1 if any(r.unexplained for r in balance) else 0


def _champion_version(config: LakehouseConfig) -> str | None:
    champion = open_registry(config).version(CHAMPION)
    return None if champion is None else str(champion.version)


def _forecasts_made(spark: SparkSession, config: LakehouseConfig, made_at: datetime, version: str) -> bool:
    """Whether gold holds forecasts made at `made_at` by model version `version`."""
    if not table_exists(spark, config, ZONE_OCCUPANCY_FORECAST):
        return False
    made = (F.col("forecast_made_at") == F.lit(made_at)) & (F.col("model_version") == F.lit(version))
    return bool(read_table(spark, config, ZONE_OCCUPANCY_FORECAST).where(made).limit(1).count())


def _print_report(spark, config, root: Path, balance: list) -> None:
    searches, occupancy, manifest = load_truth(root / "truth")
    accuracy = session_accuracy(sessions_found(spark, config).toPandas(), searches,
                                pd.Timestamp(manifest["window_end"], unit="s", tz="UTC"), settle_seconds=3600)
    _print_summary(spark, config, searches, occupancy, manifest, balance)
    print("  sessions vs ground truth\n" + "\n".join(f"    {line}" for line in accuracy.lines()))
    metrics = read_table(spark, config, ZONE_METRICS_HOURLY).toPandas()
    _print_gold(metrics)
    settled = pd.Timestamp(manifest["window_end"], unit="s", tz="UTC") - pd.Timedelta(hours=1)
    gold = gold_accuracy(metrics, occupancy, searches, settled)
    print("  gold vs ground truth\n" + "\n".join(f"    {line}" for line in gold.lines()))
    print("  forecasting\n" + "\n".join(f"    {line}" for line in forecast_summary(spark, config)))
    print("  zone status now\n" + "\n".join(f"    {line}" for line in zone_status_summary(spark, config, root)))


def zone_status_summary(spark, config, root: Path) -> list[str]:
    """`gold.zone_status` (the streaming job's last write) in one line, with the car parks' true count."""
    if not table_exists(spark, config, ZONE_STATUS):
        return ["no gold.zone_status (the streaming job writes it)"]
    status = read_table(spark, config, ZONE_STATUS).toPandas()
    if status.empty:
        return ["gold.zone_status is empty: no events streamed yet"]
    as_of = pd.Timestamp(status.as_of.iloc[0], tz="UTC")
    gated = status[status.parked_source == "gate"]
    truth = ""
    if (root / "truth" / "stays.parquet").is_file():
        true = parked_at_instant(load_stays(root / "truth"), as_of).reindex(gated.zone_id, fill_value=0).sum()
        truth = f" (truth {true:,})"
    return [f"as of {as_of:%Y-%m-%d %H:%M} UTC: {gated.vehicles_parked.sum():,} vehicles in {len(gated)} car parks"
            f"{truth}, {status[status.parked_source != 'gate'].vehicles_parked.sum():,} at streets, "
            f"{status.searching_now.sum():,} driver(s) searching; gold.zone_status, rewritten every micro-batch"]


def _print_where_to_look(config: LakehouseConfig, root: Path) -> None:
    """The last lines: the dashboard to open, and what to run next."""
    default_root = Path(config.storage_root) == Path(DEFAULT_DEMO_ROOT).resolve()
    root_arg = "" if default_root else f" --root {config.storage_root}"
    query = "SELECT * FROM gold.v_busiest_zones ORDER BY busiest_rank LIMIT 5"
    dashboard = Path(config.storage_root) / "dashboard.html"
    print("\nWhere to look")
    if dashboard.is_file():
        print(f"  dashboard         {dashboard.resolve().as_uri()}  (open it in a browser; rebuild: "
              f"parkpal dashboard{root_arg})")
    print(f"  live dashboard    parkpal dashboard serve{root_arg}  (the same charts plus zone status now, redrawn "
          "in place)")
    print(f"  REST API          parkpal api serve{root_arg}  (zone status now, forecasts, metrics for app "
          "backends; tokens: the sharing profiles)")
    print(f"  query gold        parkpal sql \"{query}\"{root_arg}")
    print(f"  SQL endpoint      parkpal sql serve{root_arg}  (JDBC/ODBC for BI tools and beeline)")
    print(f"  Delta Sharing     parkpal share serve{root_arg}  (recipients read gold with the delta-sharing client)")
    if os.environ.get(LIBRARY_LOG_ENV) == str(library_log_path(root)):
        print(f"  library logs      {library_log_path(root)}  (Spark, MLflow, ...; --verbose shows them here)")


def forecast_summary(spark, config) -> list[str]:
    """The champion's backtest against its hardest baseline (same rows), the forecasts written, the
    monitored days."""
    from parkpal_lakehouse.forecasting.validation import hardest_baseline

    registry = open_registry(config)
    champion = registry.version(CHAMPION)
    if champion is None:
        return ["no champion model: nothing scored"]
    metrics = registry.client.get_run(champion.run_id).data.metrics
    head = f"{registry.model_name} v{champion.version} @champion ({champion.tags.get('validation_status', '?')}): "
    lines = []
    for h in (1, 24):
        hardest = hardest_baseline(metrics, h)
        if hardest is not None:
            cover = metrics.get(f"interval_coverage_h{h}")
            lines.append(f"{head if not lines else ' ' * len(head)}backtest {h:>2} h MAE {100 * hardest.model_mae:.2f} "
                         f"pp vs {hardest.baseline} {100 * hardest.baseline_mae:.2f} pp on the same {hardest.n:,} "
                         f"forecasts ({hardest.improvement:+.1%})"
                         + (f", 80% interval coverage {cover:.0%}" if cover is not None else ""))
    lines = lines or [head + "no same-row baseline figures in its run"]
    if table_exists(spark, config, ZONE_OCCUPANCY_FORECAST):
        made = read_table(spark, config, ZONE_OCCUPANCY_FORECAST).groupBy("forecast_made_at").count().collect()
        lines.append(f"{sum(r['count'] for r in made):,} forecasts in {ZONE_OCCUPANCY_FORECAST} from "
                     f"{len(made)} scoring run(s)")
    def weighted(column: str):  # a mean over forecasts, of the rows that have the figure
        has = F.col(column).isNotNull()
        return F.sum(F.when(has, F.col(column) * F.col("forecasts"))) / F.sum(F.when(has, F.col("forecasts")))

    days = [] if not table_exists(spark, config, FORECAST_ACCURACY_DAILY) else (
        read_table(spark, config, FORECAST_ACCURACY_DAILY).groupBy("accuracy_date").agg(
            weighted("mae").alias("mae"), weighted("persistence_mae").alias("persistence"),
            weighted("interval_coverage").alias("coverage"), F.sum("forecasts").alias("n"))
        .orderBy("accuracy_date").collect())
    for r in days:
        persistence = "" if r.persistence is None else f", persistence {100 * r.persistence:.2f} pp"
        lines.append(f"{r.accuracy_date}: {r.n:,} forecasts vs actuals: MAE {100 * r.mae:.2f} pp{persistence}, "
                     f"80% interval covered {r.coverage:.0%}")
    if not days:
        lines.append("no day monitored yet (monitoring needs a complete local day of gold)")
    return lines


def _print_gold(metrics: pd.DataFrame) -> None:
    if metrics.empty:
        print("  gold              no closed hours yet")
        return
    parked = metrics[metrics.parked > 0]
    circling = (parked.circling_seconds_avg * parked.parked).groupby(parked.zone_type).sum() / \
        parked.groupby("zone_type").parked.sum()
    occ = metrics.groupby("zone_type").occupancy_rate.mean()
    peak = metrics.groupby("zone_type").peak_occupancy_rate.max()
    print(f"  gold              {metrics.hour_start.nunique():,} hours x {metrics.zone_id.nunique()} zones in "
          f"gold.zone_metrics_hourly; revenue {metrics.revenue.sum():,.0f} PHP")
    print("    avg circling    " + ", ".join(f"{k} {v:.0f}s" for k, v in circling.items()))
    print("    occupancy       " + ", ".join(f"{k} avg {occ[k]:.0%} peak {peak[k]:.0%}" for k in occ.index)
          + " (every vehicle: gates at car parks, STREET an estimate scaled up from app users)")
    street = metrics[metrics.zone_type == "STREET"]
    if len(street) and street.app_occupied_avg.notna().any():
        app = (street.app_occupied_avg / street.capacity).mean()
        sources = ", ".join(f"{k} {v:,}" for k, v in street.occupancy_source.value_counts().items())
        print(f"    street          all-driver estimate avg {street.occupancy_rate.mean():.0%} (80% interval "
              f"{street.occupancy_rate_low.mean():.0%}-{street.occupancy_rate_high.mean():.0%}); app users alone "
              f"{app:.0%}; zone-hours by occupancy_source: {sources}")


def _print_summary(spark, config, searches: pd.DataFrame, occupancy: pd.DataFrame, manifest: dict,
                   balance: list) -> None:
    print("\nParkPal demo summary")
    print(f"  storage root      {config.storage_root}")
    stamp = Path(config.storage_root) / DEMO_STAMP
    if stamp.is_file():
        city = json.loads(stamp.read_text())
        default = (city["days"], city["zones"], city["users"]) == (DEMO_DAYS, DEMO_ZONES, DEMO_USERS)
        print(f"  city              {city['zones']} zones, {city['users']:,} app users, {city['days']} days"
              + (" (the small default; scale it up with --zones, --users, --days)" if default else ""))
    print("  ingestion         hub: bronze = silver + quarantine + duplicates removed (simulator sent: events)")
    for r in balance:
        sent = manifest["wire"][r.hub]["events"]
        check = "ok" if r.unexplained == 0 and r.silver == sent else "MISMATCH"
        print(f"    {r.hub:<17} {r.bronze:>9,} = {r.silver:,} + {r.quarantine:,} + {r.duplicates_removed:,}"
              f"  (sent {sent:,}: {check})")
    circling = searches[searches.outcome == "parked"].groupby("zone_type").circling_seconds.mean()
    print("  true avg circling " + ", ".join(f"{k} {v:.0f}s" for k, v in circling.items()))
    occ = occupancy.groupby("zone_type").occupancy_rate.mean()
    print("  true avg occupancy " + ", ".join(f"{k} {v:.0%}" for k, v in occ.items()))
    failed = (read_table(spark, config, QUALITY_RESULTS).where("NOT success")
              .select("table_name", "expectation", "policy").collect())
    print(f"  quality           {len(failed)} failed expectation result(s)"
          + "".join(f"\n    {r.table_name} {r.expectation} ({r.policy})" for r in failed[:5]))
    for layer in ("bronze", "silver", "gold", "ops"):
        tables = spark.sql(f"SHOW TABLES IN {layer}").collect()
        print(f"  {layer + ' tables':<17} " + ", ".join(r.tableName for r in tables))
