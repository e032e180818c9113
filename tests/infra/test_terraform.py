"""infra/ without a cloud: every file parses, every variable is typed and described, the names the
package relies on match its configuration, and checkov finds nothing unjustified."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from parkpal_lakehouse.config import (
    EVENTHUBS_CONSUMER_GROUP,
    EVENTHUBS_LISTEN_SECRET,
    EVENTHUBS_SEND_SECRET,
    HUBS,
    LAKE_CONTAINERS,
    LAYERS,
    PSEUDONYM_KEY_SECRET,
    Environment,
    databricks_config,
)

INFRA = Path(__file__).resolve().parents[2] / "infra"
CONCERNS = {"versions.tf", "variables.tf", "main.tf", "network.tf", "storage.tf", "eventhubs.tf", "keyvault.tf",
            "databricks.tf", "unity_catalog.tf", "sharing.tf", "monitoring.tf", "outputs.tf"}


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and adds bookkeeping keys; drop both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


def _load(name: str) -> dict[str, Any]:
    with (INFRA / name).open() as fh:
        return _unquote(hcl2.load(fh))


@pytest.fixture(scope="module")
def tf() -> dict[str, dict[str, Any]]:
    return {p.name: _load(p.name) for p in sorted(INFRA.glob("*.tf"))}


def _resources(tf, kind: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for doc in tf.values():
        for block in doc.get("resource", []):
            out.update(block.get(kind, {}))
    return out


def _locals(tf) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for doc in tf.values():
        for block in doc.get("locals", []):
            merged.update(block)
    return merged


def test_one_file_per_concern_and_every_file_parses(tf):
    assert set(tf) == CONCERNS


def test_every_variable_is_typed_and_described(tf):
    variables = {name: body for block in tf["variables.tf"]["variable"] for name, body in block.items()}
    assert len(variables) >= 10
    for name, body in variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(body.get("description", "")) > 15, f"variable {name} is not described"


def test_event_hubs_match_the_package(tf):
    hubs = _locals(tf)["event_hubs"]
    assert tuple(hubs) == HUBS
    assert hubs["activity-events"] == {"partitions": 4, "retention_days": 7}
    namespace = _resources(tf, "azurerm_eventhub_namespace")["this"]
    assert (namespace["sku"], namespace["auto_inflate_enabled"]) == ("Standard", True)
    variables = {n: b for block in tf["variables.tf"]["variable"] for n, b in block.items()}
    assert variables["eventhubs_max_throughput_units"]["default"] == 20
    assert _locals(tf)["databricks_consumer_group"] == EVENTHUBS_CONSUMER_GROUP
    config = databricks_config(Environment.PROD, "parkpal", "abfss://x@y.dfs.core.windows.net")
    assert config.source.consumer_group == EVENTHUBS_CONSUMER_GROUP
    rules = _resources(tf, "azurerm_eventhub_namespace_authorization_rule")
    assert (rules["send"]["send"], rules["send"]["listen"], rules["send"]["manage"]) == (True, False, False)
    assert (rules["listen"]["send"], rules["listen"]["listen"], rules["listen"]["manage"]) == (False, True, False)


def test_secret_names_match_what_the_package_reads():
    config = databricks_config(Environment.PROD, "parkpal", "abfss://x@y.dfs.core.windows.net")
    assert config.source.connection_string.key == EVENTHUBS_LISTEN_SECRET


def test_secrets_in_key_vault_are_the_packages(tf):
    local = _locals(tf)
    assert (local["eventhubs_listen_secret"], local["eventhubs_send_secret"]) == (EVENTHUBS_LISTEN_SECRET,
                                                                                  EVENTHUBS_SEND_SECRET)
    secrets = _resources(tf, "azurerm_key_vault_secret")
    assert "local.eventhubs_listen_secret" in json.dumps(secrets["eventhubs"]["for_each"])
    # gold's pseudonymous user/plate keys: the package reads this secret from the scope on Databricks
    assert local["pseudonym_key_secret"] == PSEUDONYM_KEY_SECRET
    assert "local.pseudonym_key_secret" in json.dumps(secrets["pseudonym_key"]["name"])
    config = databricks_config(Environment.PROD, "parkpal", "abfss://x@y.dfs.core.windows.net")
    assert config.gold.pseudonym_key.key == PSEUDONYM_KEY_SECRET


def test_lake_containers_schemas_and_lifecycle(tf):
    local = _locals(tf)
    assert tuple(local["lake_containers"]) == LAKE_CONTAINERS
    assert set(local["schemas"]) == set(LAYERS)
    account = _resources(tf, "azurerm_storage_account")["lake"]
    assert account["is_hns_enabled"] is True and account["allow_nested_items_to_be_public"] is False
    assert account["network_rules"][0]["default_action"] == "Deny"
    policy = _resources(tf, "azurerm_storage_management_policy")["landing"]["rule"][0]
    assert policy["filters"][0]["prefix_match"] == ["landing/"]
    tiers = policy["actions"][0]["base_blob"][0]
    assert {"tier_to_cool_after_days_since_modification_greater_than",
            "tier_to_archive_after_days_since_modification_greater_than"} <= set(tiers)


def test_only_gold_is_shared_and_analysts_only_read_gold(tf):
    local = _locals(tf)
    assert local["sharing"] == '${yamldecode(file("${path.module}/../src/parkpal_lakehouse/sharing/shares.yml"))}'
    assert (INFRA.parent / "src" / "parkpal_lakehouse" / "sharing" / "shares.yml").is_file()
    # shares hold the `shared` views only (tests/sharing/test_databricks_views.py runs their SQL on gold)
    share = _resources(tf, "databricks_share")["recipient"]
    assert share["for_each"] == "${local.share_recipients}"
    content = share["dynamic"][0]["object"]["content"][0]
    assert content["name"] == "${databricks_catalog.parkpal.name}.${databricks_schema.shared.name}.${object.key}"
    assert (content["data_object_type"], content["shared_as"]) == ("VIEW", "gold.${object.key}")
    grants = _resources(tf, "databricks_grants")["share"]
    assert grants["grant"][0]["principal"] == "${databricks_recipient.this[each.key].name}"
    assert grants["grant"][0]["privileges"] == ["SELECT"]
    recipient = _resources(tf, "databricks_recipient")["this"]
    assert set(recipient["properties_kvpairs"][0]["properties"]) == {"zone_column", "zone_value"}
    grants = _resources(tf, "databricks_grants")["schema"]
    assert "each.key == \"gold\" ? [var.analysts_group] : []" in json.dumps(grants).replace('\\"', '"')


def test_bundle_variables_match_the_outputs(tf):
    bundle = INFRA.parent / "jobs" / "databricks.yml"
    if not bundle.is_file():
        pytest.skip("the Asset Bundle (jobs/databricks.yml) lands with the bundle issue")
    import yaml

    bundle_vars = yaml.safe_load(bundle.read_text())["variables"]
    outputs = {name for block in tf["outputs.tf"]["output"] for name in block}
    assert {"catalog", "eventhubs_namespace", "secret_scope", "storage_root"} <= set(bundle_vars) & outputs
    tf_vars = {n: b for block in tf["variables.tf"]["variable"] for n, b in block.items()}
    assert bundle_vars["catalog"]["default"] == tf_vars["catalog_name"]["default"]
    assert bundle_vars["secret_scope"]["default"] == tf_vars["secret_scope_name"]["default"]
    assert "default" not in bundle_vars["storage_root"] and "default" not in bundle_vars["eventhubs_namespace"]


def _checkov() -> str | None:
    explicit = os.environ.get("PARKPAL_CHECKOV")
    if explicit:
        return explicit
    local = INFRA.parent / ".venv-checkov" / "bin" / "checkov"
    return str(local) if local.is_file() else shutil.which("checkov")


@pytest.mark.slow
def test_checkov_finds_no_unjustified_failures():
    checkov = _checkov()
    assert checkov, "checkov is not installed: run `make checkov` (CI installs it)"
    result = subprocess.run([checkov, "-d", str(INFRA), "--framework", "terraform",
                             "-o", "json", "--skip-download"], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    results = [r["results"] for r in reports]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for r in results for c in r.get("failed_checks", [])]
    assert failed == [], failed
    assert sum(r["summary"]["passed"] for r in reports) > 40
    # Every skip carries its reason in the code, next to the resource it excuses.
    skipped = [c for r in results for c in r.get("skipped_checks", [])]
    assert skipped and all(len(c.get("check_result", {}).get("suppress_comment", "")) > 40 for c in skipped), skipped


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH (python-hcl2 and checkov above still check the files)")
    result = subprocess.run([terraform, "fmt", "-check", "-recursive", str(INFRA)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"terraform fmt would change: {result.stdout}"
