"""Steps of the silver layer: reference data, streaming ingestion (bronze -> silver -> sessions), the
ingestion balance, late-event repair, backfill, and sessions against a simulated city's truth."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from parkpal_lakehouse.config import HUBS, LAYERS
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.steps.options import SOURCE_OPTIONS, hub_list, moment
from parkpal_lakehouse.steps.step import Option, Step, StepContext, Values


# --- reference load (the setup job) ---------------------------------------------------------------------
def _reference_folder(ctx: StepContext, folder: str) -> Path:
    """A local folder with the two CSVs; lake URIs are copied through Spark (small files)."""
    if "://" not in folder:
        return Path(folder)
    local = Path(tempfile.mkdtemp(prefix="parkpal-reference-"))
    for name in ("zones.csv", "vehicles.csv"):
        text = ctx.spark.read.option("wholetext", True).text(f"{folder.rstrip('/')}/{name}").first()
        if text is None:
            raise ParkPalError(f"{folder}/{name} is empty or missing: `parkpal lake upload-reference` puts it there")
        (local / name).write_text(text[0])
    return local


def reference_load(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.silver.reference import load_reference_tables
    from parkpal_lakehouse.steps.catalog import prepare_catalog

    config = ctx.config
    given = args.reference_folder or config.reference_path()
    folder = _reference_folder(ctx, given)
    if not (folder / "zones.csv").is_file():
        raise ParkPalError(f"no zones.csv in {folder}: simulate a city (`parkpal simulate`) or upload the "
                           "operators' (`parkpal lake upload-reference`), or pass --reference-folder")
    prepare_catalog(ctx.spark, config)
    names = load_reference_tables(ctx.spark, config, folder)
    print(f"schemas {', '.join(config.schema(layer) for layer in LAYERS)} ready; "
          f"reference data from {given} in {', '.join(names)}")
    return 0


# --- streaming ------------------------------------------------------------------------------------------
def _print_balance(ctx: StepContext, hubs: list) -> int:
    """Every bronze record must be in silver, in quarantine or a removed duplicate: anything else fails.
    Kept when no table the last recorded balance counted has a commit since (a run with nothing new);
    otherwise counted on from it where it read 0, parsing only what bronze appended since (the full count
    re-parses all of bronze: ~20 s cold on the demo's root, and it grows with every run; issue 21)."""
    from parkpal_lakehouse.balance import how_counted, last_balance, record_balance

    balance = last_balance(ctx.spark, ctx.config, hubs)
    if balance is not None:
        print("balance: unchanged since it was last counted (no commit to bronze, silver or quarantine since)")
    else:
        balance = record_balance(ctx.spark, ctx.config, hubs, count_on=True)
        ctx.progress("balance counted: " + "; ".join(f"{r.hub} {how_counted(r)}" for r in balance))
    unexplained = [r for r in balance if r.unexplained]
    for r in unexplained:
        print(f"{ctx.name}: error: {r.hub}: {r.unexplained:,} bronze record(s) neither in silver, in quarantine "
              f"nor duplicates (bronze {r.bronze:,} = silver {r.silver:,} + quarantine {r.quarantine:,} + duplicates "
              f"{r.duplicates_removed:,} + {r.unexplained:,})", file=sys.stderr)
    if not unexplained:
        print(f"balance: every bronze record of {len(hubs)} hub(s) is in silver, quarantine or a duplicate")
    return 1 if unexplained else 0


def stream_start(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.contracts.events import Hub
    from parkpal_lakehouse.io.sources import check_reachable
    from parkpal_lakehouse.silver.reference import check_zones_loaded

    hubs = [Hub(h) for h in args.hubs]
    # Before importing the pipeline (great-expectations alone takes seconds to import): a wrong broker
    # or a root without reference data is said at once.
    check_reachable(ctx.config.source)
    check_zones_loaded(ctx.config)
    from parkpal_lakehouse.ingestion import run_ingestion
    from parkpal_lakehouse.runtime.signals import stop_on_signals

    stop = stop_on_signals(ctx.progress)
    sessions = not args.no_sessions and set(hubs) == set(Hub)
    report = run_ingestion(ctx.spark, ctx.config, hubs, stop=stop, progress=ctx.progress, sessions=sessions,
                           dbutils=ctx.dbutils)
    state = "stopped on signal" if report.stopped_by_signal else "done"
    print(f"ingestion {state}: {report.batches} micro-batches; rows in: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(report.rows_in.items())))
    if report.stopped_by_signal or args.no_balance:
        return 0
    return _print_balance(ctx, hubs)


def stream_balance(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.balance import record_balance

    balance = record_balance(ctx.spark, ctx.config)
    print(f"{'hub':<17}{'bronze':>10}{'silver':>10}{'quarantine':>12}{'duplicates':>12}{'unexplained':>13}")
    for r in balance:
        print(f"{r.hub:<17}{r.bronze:>10,}{r.silver:>10,}{r.quarantine:>12,}{r.duplicates_removed:>12,}"
              f"{r.unexplained:>13,}")
    return 1 if any(r.unexplained for r in balance) else 0


# --- sessions ------------------------------------------------------------------------------------------
def sessions_repair(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.sessions.backfill import repair_late_sessions

    report = repair_late_sessions(ctx.spark, ctx.config)
    print(f"repaired {report.late_events_repaired:,} late events: {report.users:,} users re-sessionized, "
          f"{report.sessions_written:,} sessions written (horizon {report.horizon})")
    return 0


def check_range(args: Values) -> None:
    if getattr(args, "from") is None or args.to is None:
        raise ParkPalError("give the range to rebuild: --from and --to")


def sessions_backfill(args: Values, ctx: StepContext) -> int:
    from parkpal_lakehouse.sessions.backfill import backfill_sessions

    start, end = getattr(args, "from"), args.to
    report = backfill_sessions(ctx.spark, ctx.config, start, end)
    print(f"backfilled sessions entering in [{start.isoformat()}, {end.isoformat()}): "
          f"{report.users:,} users, {report.sessions_written:,} sessions written (horizon {report.horizon})")
    return 0


def ground_truth(ctx: StepContext):
    """The simulator's truth of this lakehouse's city: (searches, zone occupancy per hour, manifest)."""
    from parkpal_lakehouse.simulator.truth import load_truth

    truth_dir = Path(ctx.config.truth_path())
    if not (truth_dir / "manifest.json").is_file():
        raise ParkPalError(f"no ground truth in {truth_dir}: accuracy needs a simulated city (`parkpal simulate`)")
    return load_truth(truth_dir)


def sessions_accuracy(args: Values, ctx: StepContext) -> int:
    import pandas as pd

    from parkpal_lakehouse.sessions.accuracy import session_accuracy
    from parkpal_lakehouse.sessions.store import sessions_found

    searches, _, manifest = ground_truth(ctx)
    found = sessions_found(ctx.spark, ctx.config).toPandas()
    end = pd.Timestamp(manifest["window_end"], unit="s", tz="UTC")
    print("\n".join(session_accuracy(found, searches, end, settle_seconds=3600).lines()))
    return 0


STEPS = (
    Step(("reference", "load"), "parkpal-setup", "setup_lakehouse",
         "create the layer schemas and load the reference data (zones, vehicles, street counts) into silver",
         reference_load, (Option("reference_folder", "folder holding zones.csv and vehicles.csv (default: "
                                 "<root>/reference locally, landing/reference on the lake)", aliases=("folder",)),),
         new_root=True),
    Step(("stream", "start"), "parkpal-ingest", "ingest_streams",
         "streaming: events -> bronze -> silver (+ quarantine) -> parking sessions, then the balance", stream_start,
         (Option("hubs", "comma-separated hubs", parse=hub_list, default=",".join(HUBS)), *SOURCE_OPTIONS,
          Option("no_sessions", "skip sessionization (it runs when all three hubs are ingested)", switch=True),
          Option("no_balance", "skip the closing balance (bronze = silver + quarantine + duplicates; exit 1 if "
                 "not)", switch=True))),
    Step(("stream", "balance"), "parkpal-stream-balance", "stream_balance",
         "bronze = silver + quarantine + duplicates, per hub (exit 1 if not)", stream_balance),
    Step(("sessions", "repair"), "parkpal-sessions-repair", "sessions_repair",
         "re-sessionize the users with late events (upsert by session id)", sessions_repair),
    Step(("sessions", "backfill"), "parkpal-sessions-backfill", "sessions_backfill",
         "rebuild the sessions entering in a time range from silver", sessions_backfill,
         (Option("from", "first time of the range, e.g. 2026-11-02T00:00 (UTC unless an offset is given)",
                 parse=moment, required=True),
          Option("to", "exclusive end of the range", parse=moment, required=True)), check=check_range),
    Step(("sessions", "accuracy"), "parkpal-sessions-accuracy", "sessions_accuracy",
         "compare the sessions with the simulator's ground truth", sessions_accuracy),
)
