# What feeds the bundle (jobs/databricks.yml variables) and the `parkpal lake` commands.
output "databricks_host" {
  description = "Workspace URL: the bundle target's `workspace.host`."
  value       = "https://${azurerm_databricks_workspace.this.workspace_url}"
}

output "catalog" {
  description = "Unity Catalog catalog: the bundle's `catalog` variable."
  value       = databricks_catalog.parkpal.name
}

output "storage_account" {
  description = "ADLS Gen2 account: `parkpal lake init --account`."
  value       = azurerm_storage_account.lake.name
}

output "storage_root" {
  description = "Landing and checkpoint roots: the bundle's `storage_root` variable (one container per layer)."
  value       = "abfss://{container}@${azurerm_storage_account.lake.name}.dfs.core.windows.net"
}

output "eventhubs_namespace" {
  description = "Event Hubs namespace: the bundle's `eventhubs_namespace` variable (Kafka endpoint <namespace>.servicebus.windows.net:9093)."
  value       = azurerm_eventhub_namespace.this.name
}

output "secret_scope" {
  description = "Key Vault-backed secret scope: the bundle's `secret_scope` variable."
  value       = databricks_secret_scope.parkpal.name
}

output "key_vault_uri" {
  description = "Key Vault holding the Event Hubs connection strings."
  value       = azurerm_key_vault.this.vault_uri
}

output "share_names" {
  description = "Delta Sharing share per recipient (shares.yml), as recipients see it."
  value       = { for k, share in databricks_share.recipient : k => share.name }
}

output "access_connector_principal_id" {
  description = "Managed identity Unity Catalog uses to reach the lake (for `parkpal lake init --streaming-identity`)."
  value       = azurerm_databricks_access_connector.this.identity[0].principal_id
}

output "jobs_service_principal" {
  description = "Application id of the service principal prod jobs run as (the bundle looks it up by display name)."
  value       = databricks_service_principal.jobs.application_id
}
