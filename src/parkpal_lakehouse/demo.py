"""`parkpal demo`: the whole pipeline on the embedded default (landing files under one folder).

Runs every stage that exists, in order, resuming on an existing root (or starting over with
`fresh`), and prints a short summary with where the tables are.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from parkpal_lakehouse.config import local_config
from parkpal_lakehouse.contracts.reference import vehicles_df, zones_df
from parkpal_lakehouse.io.tables import overwrite_table
from parkpal_lakehouse.runtime.session import get_spark
from parkpal_lakehouse.simulator.run import simulate
from parkpal_lakehouse.simulator.settings import SimulationSettings
from parkpal_lakehouse.simulator.truth import load_truth

DEMO_ZONES, DEMO_USERS = 50, 5_000


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

    started = time.perf_counter()
    spark = get_spark(config)
    progress(f"Spark {spark.version} with Delta ready in {time.perf_counter() - started:.1f}s")
    zones = overwrite_table(zones_df(spark, root / "reference" / "zones.csv"), config, "silver.zones")
    vehicles = overwrite_table(vehicles_df(spark, root / "reference" / "vehicles.csv"), config, "silver.vehicles")
    progress(f"reference data in {zones} and {vehicles}")

    searches, occupancy, manifest = load_truth(root / "truth")
    _print_summary(spark, config, searches, occupancy, manifest)
    return 0


def _print_summary(spark, config, searches: pd.DataFrame, occupancy: pd.DataFrame, manifest: dict) -> None:
    wire = manifest["wire"]
    print("\nParkPal demo summary")
    print(f"  storage root      {config.storage_root}")
    for hub in ("activity-events", "geofence-events", "gate-events"):
        w = wire[hub]
        print(f"  {hub:<17} {w['received']:>9,} received ({w['events']:,} events, {w['duplicates']:,} duplicates, "
              f"{w['malformed'] + w['invalid']:,} bad)")
    circling = searches[searches.outcome == "parked"].groupby("zone_type").circling_seconds.mean()
    print("  true avg circling " + ", ".join(f"{k} {v:.0f}s" for k, v in circling.items()))
    occ = occupancy.groupby("zone_type").occupancy_rate.mean()
    print("  true avg occupancy " + ", ".join(f"{k} {v:.0%}" for k, v in occ.items()))
    tables = spark.sql("SHOW TABLES IN silver").collect()
    print("  tables            " + ", ".join(f"{r.namespace}.{r.tableName}" for r in tables))
