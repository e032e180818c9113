"""Forecasting benchmark: cleaning + features, backtest + training, one scoring run.

1. Weeks of hourly occupancy for a city (an operator export with its defects) are simulated.
2. Reference, measured in the same run: Spark reads the CSV, averages it per zone and hour and writes
   Delta (the simplest job over the same input).
3. `parkpal forecast` steps on it: cleaning + feature rows (zone-hours/s, feature rows/s), the
   rolling-origin backtest with the final fit and MLflow registration, validation, and one scoring run
   (the hourly job's latency: champion loaded, features of one origin, 24 h written to gold).

    .venv/bin/python benchmarks/forecast_training.py [--zones 100] [--users 10000] [--weeks 6]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import peak_rss_mib, timed  # noqa: E402
from ingestion_throughput import jvm_peak_mib  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from parkpal_lakehouse.config import local_config  # noqa: E402
from parkpal_lakehouse.forecasting.batch_inference import score_forecasts  # noqa: E402
from parkpal_lakehouse.forecasting.registry import open_registry  # noqa: E402
from parkpal_lakehouse.forecasting.series_source import SeriesSource, load_series
from parkpal_lakehouse.forecasting.training import feature_frame, train_forecaster  # noqa: E402
from parkpal_lakehouse.forecasting.validation import validate_challenger  # noqa: E402
from parkpal_lakehouse.runtime.session import LocalSparkSettings, get_spark  # noqa: E402
from parkpal_lakehouse.simulator.history import write_history  # noqa: E402
from parkpal_lakehouse.simulator.settings import SimulationSettings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=100)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=6)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="parkpal-forecast-bench-"))
    try:
        settings = SimulationSettings(zones=args.zones, users=args.users)
        (csv, history), sim_s = timed(lambda: write_history(settings, args.weeks, root))
        print(f"simulated {len(history):,} zone-hours ({args.zones} zones x {args.weeks} weeks) in {sim_s:.1f}s")
        config = local_config(root)
        spark = get_spark(config, LocalSparkSettings(driver_memory="6g"))

        def reference() -> None:
            raw = spark.read.option("header", True).csv(str(csv))
            hourly = raw.groupBy("zone_id", F.date_trunc("hour", F.col("hour").cast("timestamp")).alias("h")) \
                .agg(F.avg(F.col("occupied").cast("double")).alias("occupied"))
            hourly.write.format("delta").mode("overwrite").save(str(root / "reference_delta"))

        _, ref_s = timed(reference)
        _, ref_s = timed(reference)  # warm: the first run pays Spark's start-up
        source = SeriesSource(input_path=str(csv))

        def features():
            series, _ = load_series(spark, config, source)
            return series, feature_frame(spark, config, series, source.calendar(config))

        (series, rows), feat_s = timed(features)
        zone_hours = series.count()
        calendar = source.calendar(config)
        report, train_s = timed(lambda: train_forecaster(spark, config, series, source.describe(), calendar))
        decision, val_s = timed(lambda: validate_challenger(spark, config, open_registry(config), series, calendar))
        scored, score_s = timed(lambda: score_forecasts(spark, config, series))
        _, rescore_s = timed(lambda: score_forecasts(spark, config, series))
        print(f"{'reference: CSV -> hourly mean -> Delta':<44}{ref_s:>8.1f} s  "
              f"({zone_hours / ref_s:,.0f} zone-hours/s)")
        print(f"{'clean + feature rows (Spark -> pandas)':<44}{feat_s:>8.1f} s  ({zone_hours / feat_s:,.0f} "
              f"zone-hours/s, {len(rows) / feat_s:,.0f} feature rows/s, {len(rows):,} rows)")
        folds = config.forecast.backtest_folds
        print(f"{f'train: backtest ({folds} folds) + fit + MLflow':<44}{train_s:>8.1f} s")
        print(f"{'validate (challenger vs baselines/champion)':<44}{val_s:>8.1f} s  "
              f"({'promoted' if decision.promoted else 'refused'})")
        print(f"{'score one run hour (24 h x zones -> gold)':<44}{score_s:>8.1f} s  ({scored.rows:,} forecasts; "
              f"rerun {rescore_s:.1f} s)")
        hardest = report.backtest.best_baseline(24)
        print(f"{'24 h ahead MAE: model vs hardest baseline':<44}"
              f"{100 * hardest.model_mae:>8.2f} pp vs {100 * hardest.baseline_mae:.2f} pp ({hardest.baseline}, "
              f"same {hardest.n:,} forecasts)")
        print(f"{'peak memory':<44}JVM {jvm_peak_mib(spark):,.0f} MiB, Python {peak_rss_mib():,.0f} MiB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
