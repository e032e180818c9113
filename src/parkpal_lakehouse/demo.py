"""`parkpal demo`: the whole pipeline on the embedded default (landing files under one folder).

Runs every stage that exists, in order, resuming on an existing root (or starting over with
`fresh`), and prints a short summary with where the tables are.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pandas as pd

from parkpal_lakehouse.balance import ingestion_balance
from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.contracts.reference import load_reference_tables
from parkpal_lakehouse.forecasting.batch_inference import score_forecasts
from parkpal_lakehouse.forecasting.inputs import SeriesSource, load_series
from parkpal_lakehouse.forecasting.monitoring import run_monitoring
from parkpal_lakehouse.forecasting.registry import CHAMPION, open_registry
from parkpal_lakehouse.forecasting.training import train_forecaster
from parkpal_lakehouse.forecasting.validation import validate_challenger
from parkpal_lakehouse.gold.accuracy import gold_accuracy
from parkpal_lakehouse.gold.hourly import run_hourly
from parkpal_lakehouse.gold.tables import ZONE_METRICS_HOURLY
from parkpal_lakehouse.ingestion import run_ingestion
from parkpal_lakehouse.io.tables import read_table
from parkpal_lakehouse.runtime.session import get_spark
from parkpal_lakehouse.sessions.accuracy import session_accuracy
from parkpal_lakehouse.sessions.backfill import repair_late_sessions
from parkpal_lakehouse.sessions.store import sessions_found
from parkpal_lakehouse.simulator.history import HISTORY_CSV, write_history
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import load_truth

DEMO_ZONES, DEMO_USERS = 50, 5_000
# Weeks of occupancy before the streamed days, so that forecasting has history to learn from.
DEMO_HISTORY_WEEKS = 6
DEFAULT_DEMO_ROOT = "./lakehouse"


def run_demo(root: Path, days: int, fresh: bool, progress: Callable[[str], None]) -> int:
    if fresh and root.exists():
        progress(f"--fresh: removing {root}")
        shutil.rmtree(root)
    config = local_config(root)
    if (root / "truth" / "manifest.json").is_file():
        progress(f"reusing the simulated city in {root} (use --fresh to start over)")
    else:
        settings = SimulationSettings(days=days, zones=DEMO_ZONES, users=DEMO_USERS)
        report = simulate(settings, root, progress=progress)
        progress(f"simulated {report.messages:,} messages at {report.events_per_second:,.0f}/s")
        path, _ = write_history(settings, DEMO_HISTORY_WEEKS, root)
        progress(f"simulated {DEMO_HISTORY_WEEKS} weeks of earlier hourly occupancy into {path}")

    started = time.perf_counter()
    spark = get_spark(config)
    progress(f"Spark {spark.version} with Delta ready in {time.perf_counter() - started:.1f}s")
    progress("reference data in " + " and ".join(load_reference_tables(spark, config, root / "reference")))

    progress("streaming: landing -> bronze -> silver -> parking sessions (availableNow; resumes from checkpoints)")
    started = time.perf_counter()
    report = run_ingestion(spark, config, list(Hub), progress=progress, sessions=True)
    progress(f"streaming done in {time.perf_counter() - started:.0f}s ({report.batches} micro-batches)")
    repair = repair_late_sessions(spark, config)
    progress(f"late events: {repair.late_events_repaired:,} repaired ({repair.users:,} users re-sessionized)")
    progress("hourly gold job: every closed hour not computed yet, and the hours late data touched")
    hourly = run_hourly(spark, config, progress=progress)
    for line in hourly.lines():
        progress(line)
    forecast_lines = _forecast(spark, config, root, progress)
    balance = ingestion_balance(spark, config).collect()

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
    print("  forecasting\n" + "\n".join(f"    {line}" for line in forecast_lines))
    default_root = Path(config.storage_root) == Path(DEFAULT_DEMO_ROOT).resolve()
    query = "SELECT * FROM gold.v_busiest_zones ORDER BY busiest_rank LIMIT 5"
    print(f"  try               parkpal sql \"{query}\"" + ("" if default_root else f" --root {config.storage_root}"))
    return 1 if any(r.unexplained for r in balance) else 0


def _forecast(spark, config, root: Path, progress: Callable[[str], None]) -> list[str]:
    """Train on gold extended back by the simulated history, validate, score, monitor."""
    history = root / "history" / HISTORY_CSV
    if not history.is_file():
        return [f"skipped: no occupancy history in {history} (an older demo root: use --fresh)"]
    source = SeriesSource(history_path=str(history))
    series, _ = load_series(spark, config, source)
    progress("forecasting: train (rolling-origin backtest), validate, score, monitor")
    trained = train_forecaster(spark, config, series, source.describe(), config.timezone, progress)
    decision = validate_challenger(spark, config, open_registry(config), series, config.timezone)
    lines = trained.lines(next_step=False) + decision.lines()
    if open_registry(config).version(CHAMPION) is None:
        return [*lines, "no champion: nothing scored"]
    first_gold = read_table(spark, config, ZONE_METRICS_HOURLY).agg({"hour_start": "min"}).first()[0]
    # A forecast from just before the streamed days (its targets now have actuals), and the live one.
    for as_of in (first_gold - timedelta(hours=1), None):
        lines += score_forecasts(spark, config, series, as_of).lines()
    monitored = run_monitoring(spark, config)
    return lines + monitored.lines()


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
          + " (STREET from app sessions)")


def _print_summary(spark, config, searches: pd.DataFrame, occupancy: pd.DataFrame, manifest: dict,
                   balance: list) -> None:
    print("\nParkPal demo summary")
    print(f"  storage root      {config.storage_root}")
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
    failed = spark.sql("SELECT table_name, expectation, policy FROM ops.quality_results WHERE NOT success").collect()
    print(f"  quality           {len(failed)} failed expectation result(s)"
          + "".join(f"\n    {r.table_name} {r.expectation} ({r.policy})" for r in failed[:5]))
    for layer in ("bronze", "silver", "gold", "ops"):
        tables = spark.sql(f"SHOW TABLES IN {layer}").collect()
        print(f"  {layer + ' tables':<17} " + ", ".join(r.tableName for r in tables))
