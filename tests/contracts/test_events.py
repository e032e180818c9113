import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from pyspark.sql import functions as F

from parkpal_lakehouse.contracts.events import (
    CONTRACT,
    Hub,
    contract_violations,
    parse_timestamp,
    wire_schema,
)
from parkpal_lakehouse.contracts.reference import load_zones

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ZONE_IDS = frozenset(z.zoneId for z in load_zones())


def examples(hub: Hub) -> dict:
    text = resources.files("parkpal_lakehouse.contracts").joinpath("examples", f"{hub.value}.json").read_text()
    return json.loads(text)


VALID = [(hub, ev) for hub in Hub for ev in examples(hub)["valid"]]
INVALID = [(hub, case) for hub in Hub for case in examples(hub)["invalid"]]


@pytest.mark.parametrize(("hub", "event"), VALID, ids=[f"{h.value}-{i}" for i, (h, _) in enumerate(VALID)])
def test_valid_examples_break_no_rule(hub, event):
    assert contract_violations(hub, event, now=NOW, zone_ids=ZONE_IDS) == []


@pytest.mark.parametrize(("hub", "case"), INVALID, ids=[f"{h.value}-{c['fails'][0]}" for h, c in INVALID])
def test_invalid_examples_break_exactly_the_named_rules(hub, case):
    assert sorted(contract_violations(hub, case["event"], now=NOW, zone_ids=ZONE_IDS)) == sorted(case["fails"])


def test_every_hub_has_valid_and_invalid_examples():
    for hub in Hub:
        assert examples(hub)["valid"] and examples(hub)["invalid"]


def test_timestamps_with_offset_and_z_mean_the_same_instant():
    assert parse_timestamp("2026-11-02T08:15:00+08:00") == parse_timestamp("2026-11-02T00:15:00Z")
    with pytest.raises(ValueError):
        parse_timestamp("2026-11-02T08:15:00")


def test_silver_column_names_are_snake_case():
    columns = {f.name: f.column for f in CONTRACT[Hub.GATE]}
    assert columns["plateConfidence"] == "plate_confidence"
    assert columns["parkingDurationMinutes"] == "parking_duration_minutes"


def test_spark_wire_schema_parses_every_valid_example(spark):
    """The Spark schema and the examples agree: no required field comes back null."""
    for hub in Hub:
        bodies = [(json.dumps(e),) for e in examples(hub)["valid"]]
        parsed = (
            spark.createDataFrame(bodies, "body STRING")
            .select(F.from_json("body", wire_schema(hub)).alias("e"))
            .select("e.*")
            .collect()
        )
        for row, source in zip(parsed, examples(hub)["valid"], strict=True):
            for spec in CONTRACT[hub]:
                assert row[spec.name] == source.get(spec.name), (hub, spec.name)
