# Unity Catalog: the access connector as storage credential, one external location per container, the
# environment's catalog with schemas bronze / silver / gold / ops (managed storage in their containers)
# and grants: engineers read-write bronze and silver (and ops), analysts SELECT on gold.
resource "databricks_storage_credential" "lake" {
  name    = "${local.name}-lake"
  comment = "ParkPal lake via the access connector's managed identity"

  azure_managed_identity {
    access_connector_id = azurerm_databricks_access_connector.this.id
  }
  depends_on = [databricks_metastore_assignment.this]
}

resource "databricks_external_location" "lake" {
  for_each        = toset(local.lake_containers)
  name            = "${local.name}-${each.key}"
  url             = "abfss://${each.key}@${azurerm_storage_account.lake.name}.dfs.core.windows.net/"
  credential_name = databricks_storage_credential.lake.name
  comment         = "ParkPal ${each.key} container"
  depends_on      = [azurerm_role_assignment.connector_lake]
}

resource "databricks_catalog" "parkpal" {
  name         = var.catalog_name
  comment      = "ParkPal lakehouse (${var.environment})"
  storage_root = "abfss://gold@${azurerm_storage_account.lake.name}.dfs.core.windows.net/catalog"
  depends_on   = [databricks_external_location.lake]
}

resource "databricks_schema" "layer" {
  for_each     = toset(local.schemas)
  catalog_name = databricks_catalog.parkpal.name
  name         = each.key
  comment      = "ParkPal ${each.key} layer"
  # ops (quality results, pipeline progress) lives beside silver.
  storage_root = "abfss://${each.key == "ops" ? "silver" : each.key}@${azurerm_storage_account.lake.name}.dfs.core.windows.net/${each.key}"
}

resource "databricks_grants" "catalog" {
  catalog = databricks_catalog.parkpal.name
  grant {
    principal  = var.engineers_group
    privileges = ["USE_CATALOG", "CREATE_SCHEMA"]
  }
  grant {
    principal  = var.analysts_group
    privileges = ["USE_CATALOG"]
  }
  grant {
    principal  = databricks_service_principal.jobs.application_id
    privileges = ["USE_CATALOG", "CREATE_SCHEMA"]
  }
}

resource "databricks_grants" "schema" {
  for_each = databricks_schema.layer
  schema   = "${databricks_catalog.parkpal.name}.${each.key}"

  grant {
    principal  = var.engineers_group
    privileges = each.key == "gold" ? ["USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE"] : ["USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE", "CREATE_VOLUME"]
  }
  grant {
    principal = databricks_service_principal.jobs.application_id
    # the jobs also register the forecasting model in gold
    privileges = ["USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE", "CREATE_MODEL"]
  }

  dynamic "grant" {
    for_each = each.key == "gold" ? [var.analysts_group] : []
    content {
      principal  = grant.value
      privileges = ["USE_SCHEMA", "SELECT"]
    }
  }
}

resource "databricks_grants" "landing_and_checkpoints" {
  for_each          = toset(["landing", "checkpoints"])
  external_location = databricks_external_location.lake[each.key].name
  grant {
    principal  = var.engineers_group
    privileges = ["READ_FILES", "WRITE_FILES"]
  }
  grant {
    principal  = databricks_service_principal.jobs.application_id
    privileges = ["READ_FILES", "WRITE_FILES"]
  }
}
