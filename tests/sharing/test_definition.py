"""The share definition: what may leave the lakehouse is checked when it is loaded."""

from __future__ import annotations

import copy

import pytest
import yaml

from parkpal_lakehouse.sharing.definition import (
    ShareDefinitionError,
    default_definition_path,
    gold_columns,
    load_definition,
    parse_definition,
)

IDENTIFYING = ("user_key", "plate_key", "session_id", "visit_id")


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(default_definition_path().read_text())


def test_the_packaged_definition_shares_gold_columns_only_and_no_identifiers():
    definition = load_definition()
    columns = gold_columns()
    assert {t.name for t in definition.tables} == {"dim_zone", "dim_date", "zone_metrics_hourly",
                                                   "zone_occupancy_forecast", "fact_parking_sessions",
                                                   "fact_gate_sessions"}
    for table in definition.tables:
        assert set(table.columns) <= set(columns[table.name]), table.name
        assert not set(table.columns) & set(IDENTIFYING), table.name
        assert table.zone_scoped == ("zone_id" in table.columns), table.name
    # the facts do carry identifiers in gold: the definition is what keeps them out
    assert {"user_key", "session_id"} <= set(columns["fact_parking_sessions"])
    assert {"plate_key", "visit_id"} <= set(columns["fact_gate_sessions"])


def test_every_recipient_has_its_own_share_and_zone_filter():
    definition = load_definition()
    shares = [r.share for r in definition.recipients]
    assert len(shares) == len(set(shares)) >= 5
    assert {r.zone_column for r in definition.recipients} == {"city", "operator"}
    assert definition.recipient("makati-city").share == "parkpal_makati_city"


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(source_schema="silver"), "only gold is ever shared"),
    (lambda d: d["tables"].update(quarantine={"columns": ["reason"]}), "'quarantine' is not a gold table"),
    (lambda d: d["tables"].update(parking_sessions={"columns": ["zone_id"]}), "is not a gold table"),
    (lambda d: d["tables"]["fact_parking_sessions"]["columns"].append("user_key"), "identifying column(s) user_key"),
    (lambda d: d["tables"]["fact_gate_sessions"]["columns"].append("plate_key"), "identifying column(s) plate_key"),
    (lambda d: d["tables"]["fact_gate_sessions"]["columns"].append("visit_id"), "identifying column(s) visit_id"),
    (lambda d: d["tables"]["dim_zone"]["columns"].append("colour"), "has no column(s) colour"),
    (lambda d: d["tables"]["zone_metrics_hourly"]["columns"].remove("zone_id"), "does not share zone_id"),
    (lambda d: d["tables"]["dim_date"].update(columns=[]), "lists no columns"),
    (lambda d: d["recipients"].update({"Bad Name": {"zones": {"city": "Makati"}}}), "must be lower-case"),
    (lambda d: d["recipients"]["makati-city"].update(zones={"zone_type": "STREET"}), "exactly one of city, operator"),
    (lambda d: d.update(recipients={}), "no tables or no recipients"),
])
def test_a_definition_that_would_expose_too_much_is_refused(raw, change, message):
    broken = copy.deepcopy(raw)
    change(broken)
    with pytest.raises(ShareDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_definition(broken)


def test_an_unreadable_definition_is_one_line(tmp_path):
    bad = tmp_path / "shares.yml"
    bad.write_text("tables: [unclosed\n")
    with pytest.raises(ShareDefinitionError) as err:
        load_definition(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)
