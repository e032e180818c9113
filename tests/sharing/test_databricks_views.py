"""infra/sharing.tf's views (what Databricks recipients read) equal what the local server publishes.

Terraform itself evaluates the views' SQL from shares.yml (`terraform console` on the locals block, no
providers needed); each view then runs on the small city's gold with the recipient's properties in place
of CURRENT_RECIPIENT and must give exactly the rows `shared_rows` publishes locally.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from chispa import assert_df_equality

from parkpal_lakehouse.sharing.definition import load_definition
from parkpal_lakehouse.sharing.publish import gold_source, recipient_zone_ids, shared_rows

REPO = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def view_sql(tmp_path_factory) -> dict[str, str]:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    text = (REPO / "infra" / "sharing.tf").read_text()
    block = re.search(r"^locals \{.*?^\}", text, re.S | re.M).group(0)
    module = tmp_path_factory.mktemp("tf")
    (module / "main.tf").write_text(block.replace("databricks_catalog.parkpal.name", '"parkpal_prod"')
                                    .replace("${path.module}/..", str(REPO)))
    result = subprocess.run([terraform, "console"], input="jsonencode(local.shared_view_sql)\n", cwd=module,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(json.loads(result.stdout.strip().splitlines()[-1]))


def test_there_is_a_view_per_shared_table_reading_gold_only(view_sql):
    definition = load_definition()
    assert set(view_sql) == {t.name for t in definition.tables}
    for table in definition.tables:
        sql = view_sql[table.name]
        assert set(re.findall(r"parkpal_prod\.(\w+)\.", sql)) == {"gold"}
        assert sql.startswith(f"SELECT {', '.join(table.columns)} FROM parkpal_prod.gold.{table.name}")
        assert ("CURRENT_RECIPIENT('zone_value')" in sql) == table.zone_scoped


@pytest.mark.parametrize("recipient_name", ["makati-city", "ayala-land-parking"])
def test_the_databricks_views_give_the_rows_the_local_server_shares(spark, gold_city, view_sql, recipient_name):
    config, _ = gold_city
    definition = load_definition()
    recipient = definition.recipient(recipient_name)
    zone_ids = recipient_zone_ids(gold_source(spark, config, definition.table("dim_zone")), recipient)
    if recipient.zone_column == "city":
        assert zone_ids.count() > 0  # every city of the simulator has zones in the small city
    for table in definition.tables:
        sql = view_sql[table.name].replace("CURRENT_RECIPIENT('zone_column')", f"'{recipient.zone_column}'")
        sql = sql.replace("CURRENT_RECIPIENT('zone_value')", f"'{recipient.zone_value}'")
        for name in set(re.findall(r"parkpal_prod\.gold\.(\w+)", sql)):
            gold_source(spark, config, definition.table(name)).createOrReplaceTempView(f"tf_{name}")
            sql = sql.replace(f"parkpal_prod.gold.{name}", f"tf_{name}")
        local = shared_rows(gold_source(spark, config, table), table, zone_ids)
        assert_df_equality(spark.sql(sql), local, ignore_row_order=True, ignore_nullable=True,
                           allow_nan_equality=True)
