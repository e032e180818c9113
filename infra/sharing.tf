# Delta Sharing: one share of the gold tables, a recipient per operator or city (open sharing with a
# bearer token the recipient downloads once), SELECT on the share for each. Only gold is ever shared.
locals {
  shared_gold_tables = ["dim_zone", "dim_date", "fact_parking_sessions", "fact_gate_sessions", "zone_metrics_hourly",
  "zone_occupancy_forecast"]
}

resource "databricks_share" "gold" {
  name = "${local.name}-gold"

  dynamic "object" {
    for_each = local.shared_gold_tables
    content {
      name                        = "${databricks_catalog.parkpal.name}.gold.${object.value}"
      data_object_type            = "TABLE"
      history_data_sharing_status = "DISABLED"
    }
  }
  depends_on = [databricks_schema.layer]
}

resource "databricks_recipient" "this" {
  for_each            = var.share_recipients
  name                = each.key
  comment             = each.value.comment
  authentication_type = "TOKEN"
}

resource "databricks_grants" "share" {
  share = databricks_share.gold.name
  dynamic "grant" {
    for_each = databricks_recipient.this
    content {
      principal  = grant.value.name
      privileges = ["SELECT"]
    }
  }
}
