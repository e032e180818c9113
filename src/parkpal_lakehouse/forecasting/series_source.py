"""Where a forecasting command's occupancy series comes from: gold, or any table given by path."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from parkpal_lakehouse.config import LakehouseConfig
from parkpal_lakehouse.errors import ParkPalError
from parkpal_lakehouse.forecasting.features import ForecastCalendar
from parkpal_lakehouse.forecasting.series import (
    clean_occupancy,
    extend_backwards,
    gold_occupancy,
    read_occupancy_table,
)
from parkpal_lakehouse.io.delta import read_table, table_exists
from parkpal_lakehouse.names import ZONE_METRICS_HOURLY


@dataclass(frozen=True)
class SeriesSource:
    """`input_path`: use that table instead of gold. `history_path`: an older export of the same
    zones that extends gold backwards (gold wins from each zone's first gold hour)."""

    input_path: str | None = None
    input_format: str = "csv"
    history_path: str | None = None
    history_format: str = "csv"
    timezone: str | None = None  # naive input times are local to this zone (default: the config's)
    columns: dict[str, str] = field(default_factory=dict)  # role -> input column name overrides
    holiday_country: str | None = None  # ISO code or "none" (default: the config's, else the timezone's)

    def calendar(self, config: LakehouseConfig) -> ForecastCalendar:
        """The series' local time and holidays: they follow the data's timezone unless told otherwise."""
        return ForecastCalendar.of(self.timezone or config.timezone,
                                   self.holiday_country or config.forecast.holiday_country)

    def describe(self) -> str:
        if self.input_path:
            return f"{self.input_path} ({self.input_format})"
        return "gold.zone_metrics_hourly" + (f" + history {self.history_path}" if self.history_path else "")


def load_series(spark: SparkSession, config: LakehouseConfig, source: SeriesSource) -> tuple[DataFrame, list[str]]:
    """The cleaned series (checkpointed) and lines saying what cleaning did."""
    tz = source.timezone or config.timezone
    if source.input_path:
        raw = read_occupancy_table(spark, source.input_path, source.input_format)
        series, report = clean_occupancy(raw, tz, source.columns)
        return series, report.lines()
    if not table_exists(spark, config, ZONE_METRICS_HOURLY):
        raise ParkPalError("gold.zone_metrics_hourly does not exist: run `parkpal hourly` first (or give --input)")
    # Kept once read: the history's seam reads gold three times (issue 21: each read of the Delta table planned
    # its own file listing).
    gold = gold_occupancy(read_table(spark, config, ZONE_METRICS_HOURLY)).localCheckpoint()
    if gold.isEmpty():
        raise ParkPalError("gold.zone_metrics_hourly is empty: run `parkpal hourly` first (or give --input)")
    if not source.history_path:
        return gold, []
    history, report = clean_occupancy(read_occupancy_table(spark, source.history_path, source.history_format),
                                      tz, source.columns)
    return extend_backwards(gold, history).localCheckpoint(), [f"history {ln}" for ln in report.lines()]
