# Delta Sharing. One definition for Databricks and the local server: src/parkpal_lakehouse/sharing/shares.yml
# (which gold tables, which columns, a recipient per operator or city and the zones it may see).
# Per shared table, a view in schema `shared` keeps only the listed columns and, for zone tables, the rows
# of the zones whose city or operator is the recipient's (recipient properties read by CURRENT_RECIPIENT).
# Each recipient gets its own share of those views, named gold.<table> as recipients see them.
locals {
  sharing          = yamldecode(file("${path.module}/../src/parkpal_lakehouse/sharing/shares.yml"))
  shared_tables    = local.sharing.tables
  share_recipients = local.sharing.recipients
  catalog          = databricks_catalog.parkpal.name
  recipient_zones = join(" ", [
    "zone_id IN (SELECT zone_id FROM ${local.catalog}.gold.dim_zone WHERE is_current AND",
    "CASE CURRENT_RECIPIENT('zone_column') WHEN 'city' THEN city WHEN 'operator' THEN operator END",
    "= CURRENT_RECIPIENT('zone_value'))",
  ])
  shared_view_sql = {
    for name, table in local.shared_tables : name => format(
      "SELECT %s FROM %s.gold.%s%s", join(", ", table.columns), local.catalog, name,
      length(compact([
        try(table.current_only, false) ? "is_current" : "",
        try(table.all_rows, false) ? "" : local.recipient_zones,
        ])) == 0 ? "" : " WHERE ${join(" AND ", compact([
          try(table.current_only, false) ? "is_current" : "",
          try(table.all_rows, false) ? "" : local.recipient_zones,
      ]))}"
    )
  }
}

resource "databricks_schema" "shared" {
  catalog_name = databricks_catalog.parkpal.name
  name         = "shared"
  comment      = "Views shared over Delta Sharing: gold columns without identifiers, filtered per recipient"
  depends_on   = [databricks_schema.layer]
}

resource "databricks_sql_table" "shared_view" {
  for_each        = local.shared_tables
  catalog_name    = databricks_catalog.parkpal.name
  schema_name     = databricks_schema.shared.name
  name            = each.key
  table_type      = "VIEW"
  view_definition = local.shared_view_sql[each.key]
  comment         = "gold.${each.key} as Delta Sharing recipients see it (shares.yml)"
}

resource "databricks_recipient" "this" {
  for_each            = local.share_recipients
  name                = "${local.name}-${each.key}"
  comment             = each.value.comment
  authentication_type = "TOKEN"
  properties_kvpairs {
    properties = {
      zone_column = keys(each.value.zones)[0]
      zone_value  = values(each.value.zones)[0]
    }
  }
}

resource "databricks_share" "recipient" {
  for_each = local.share_recipients
  name     = "${replace(local.name, "-", "_")}_${replace(each.key, "-", "_")}"

  dynamic "object" {
    for_each = local.shared_tables
    content {
      name             = "${databricks_catalog.parkpal.name}.${databricks_schema.shared.name}.${object.key}"
      data_object_type = "VIEW"
      shared_as        = "gold.${object.key}"
    }
  }
  depends_on = [databricks_sql_table.shared_view]
}

resource "databricks_grants" "share" {
  for_each = local.share_recipients
  share    = databricks_share.recipient[each.key].name
  grant {
    principal  = databricks_recipient.this[each.key].name
    privileges = ["SELECT"]
  }
}
