"""Hand-made gate events in hand-made landing files (zone 1 of the packaged sample city), ingested by the
real pipeline, and the balance counted on from the last one checked against counting everything."""

from __future__ import annotations

import json
from pathlib import Path

from chispa import assert_df_equality

from parkpal_lakehouse.balance import ingestion_balance, record_balance
from parkpal_lakehouse.contracts.events import Hub
from parkpal_lakehouse.ingestion import run_ingestion

HUB = Hub.GATE


def entry(event_id: str, at: str) -> dict:
    return {"eventType": "VEHICLE_ENTRY", "eventId": event_id, "timestamp": at, "zoneId": 1, "gateId": "G1",
            "laneId": "L1", "licensePlate": "ABC 1234", "plateConfidence": 0.9, "vehicleType": "CAR"}


def land(config, window: str, name: str, events: list[dict | str], newline: str = "\n") -> Path:
    """A landing file of the arrival window `YYYY/MM/DD/HH/mm`, written hidden then renamed."""
    folder = Path(config.landing_path(HUB.value)) / window.rsplit("/", 1)[0]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{window.rsplit('/', 1)[1]}-{name}"
    hidden = folder / f".{path.name}.tmp"
    hidden.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + newline for e in events))
    hidden.rename(path)
    return path


def ingest(spark, config) -> None:
    run_ingestion(spark, config, [HUB], progress=lambda _m: None, poll_seconds=1)


def counted_on(spark, config):
    """The balance `stream start` closes with (counted on from the last recorded one where it can), checked
    row for row against counting all of bronze again."""
    recorded = record_balance(spark, config, [HUB], count_on=True)[0]
    assert_df_equality(spark.createDataFrame([recorded]).drop("checked_at", "counted_from"),
                       ingestion_balance(spark, config, [HUB]), ignore_nullable=True)
    return recorded


def figures(balance) -> tuple[int, int, int, int, int]:
    return balance.bronze, balance.silver, balance.quarantine, balance.duplicates_removed, balance.unexplained
