"""The bad-input corpus (tests/support/bad_inputs.py) through Spark's silver rules, the Python
validator, and a real ingestion run: the same verdict everywhere, each kind quarantined with its reason,
nothing valid lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parkpal_lakehouse.contracts.events import Hub, body_violations
from parkpal_lakehouse.contracts.reference import load_zones, zones_df
from parkpal_lakehouse.ingestion import QUARANTINE, run_ingestion, silver_table
from parkpal_lakehouse.io.delta import read_table
from parkpal_lakehouse.silver.parse import parsed_events
from parkpal_lakehouse.silver.reference import load_reference_tables
from tests.silver.test_rules_agree_with_contract import _bronze_like
from tests.support.bad_inputs import CORPUS, ENQUEUED, VALID

HUBS = (Hub.ACTIVITY, Hub.GATE)


def test_the_corpus_has_many_kinds_and_one_body_each():
    assert len(CORPUS) >= 40
    assert len({c.kind for c in CORPUS}) == len(CORPUS)
    for hub in HUBS:
        bodies = [c.body for c in CORPUS if c.hub is hub] + [b for h, b in VALID if h is hub]
        assert len(set(bodies)) == len(bodies)


@pytest.mark.parametrize("hub", HUBS)
def test_spark_and_python_agree_on_every_kind_and_with_the_contract(spark, hub):
    zone_ids = frozenset(z.zoneId for z in load_zones())
    cases = [c for c in CORPUS if c.hub is hub]
    valid = [b for h, b in VALID if h is hub]
    parsed = parsed_events(_bronze_like(spark, [c.body for c in cases] + valid, hub, ENQUEUED), hub, zones_df(spark))
    got = {r.body: sorted(r.failed_rules) for r in parsed.select("body", "failed_rules").collect()}
    wrong = []
    for case in cases:
        python = sorted(body_violations(hub, case.body, now=ENQUEUED, zone_ids=zone_ids))
        if not (got[case.body] == python == sorted(case.rules)):
            wrong.append((case.kind, "spark", got[case.body], "python", python, "contract", sorted(case.rules)))
    for body in valid:
        if got[body] or body_violations(hub, body, now=ENQUEUED, zone_ids=zone_ids):
            wrong.append(("valid", body, got[body], body_violations(hub, body, now=ENQUEUED, zone_ids=zone_ids)))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.slow
def test_ingestion_quarantines_each_kind_with_its_reason_and_loses_nothing(spark, lakehouse):
    load_reference_tables(spark, lakehouse)
    for hub in HUBS:
        folder = Path(lakehouse.landing_path(hub.value)) / "2026/11/02/08"
        folder.mkdir(parents=True)
        lines = [c.body for c in CORPUS if c.hub is hub] + [b for h, b in VALID if h is hub]
        (folder / "15-00000.jsonl").write_text("".join(line + "\n" for line in lines))
    run_ingestion(spark, lakehouse, list(HUBS), progress=lambda _m: None, poll_seconds=1)
    quarantine = {r.body: sorted(r.failed_rules) for r in read_table(spark, lakehouse, QUARANTINE).collect()}
    right = [c.kind for c in CORPUS if quarantine.get(c.body) == sorted(c.rules)]
    wrong = [(c.kind, quarantine.get(c.body), c.rules) for c in CORPUS if c.kind not in right]
    silver = {hub: read_table(spark, lakehouse, silver_table(hub)).count() for hub in HUBS}
    lost = sum(1 for h, _ in VALID if h in HUBS) - sum(silver.values())
    print(f"bad-input corpus: {len(CORPUS)} kinds tried, {len(right)} quarantined with the right reason, "
          f"{len(quarantine) - len(right)} other quarantined, {lost} valid lost")
    assert not wrong, wrong
    assert len(quarantine) == len(CORPUS) and lost == 0
    ids = {r.event_id for r in read_table(spark, lakehouse, silver_table(Hub.GATE)).collect()}
    assert ids == {json.loads(b)["eventId"] for h, b in VALID if h is Hub.GATE}
