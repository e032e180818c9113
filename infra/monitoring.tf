# Logs for audit and troubleshooting: one Log Analytics workspace; diagnostic settings for the lake's
# blob access, Event Hubs and Key Vault.
resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${local.name}"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = 90
  tags                = local.tags
}

# Read, write and delete requests on the lake's blobs (the account has no shared keys, so diagnostic
# settings on the blob service rather than key-based storage insights).
resource "azurerm_monitor_diagnostic_setting" "lake_blobs" {
  name                       = "diag-lake-blobs"
  target_resource_id         = "${azurerm_storage_account.lake.id}/blobServices/default"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category = "StorageRead"
  }
  enabled_log {
    category = "StorageWrite"
  }
  enabled_log {
    category = "StorageDelete"
  }
}

resource "azurerm_monitor_diagnostic_setting" "audit" {
  for_each = {
    eventhubs = azurerm_eventhub_namespace.this.id
    keyvault  = azurerm_key_vault.this.id
  }
  name                       = "diag-${each.key}"
  target_resource_id         = each.value
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category_group = "audit"
  }
  metric {
    category = "AllMetrics"
  }
}
