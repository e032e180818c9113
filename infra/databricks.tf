# Premium workspace (Unity Catalog, secret scopes, Delta Sharing), injected into the VNet with no
# public IPs on cluster nodes; an access connector whose managed identity is Unity Catalog's way into
# the lake.
resource "azurerm_databricks_workspace" "this" {
  #checkov:skip=CKV_AZURE_158:Back-end Private Link needs a transit VNet and private DNS owned by the enterprise network team; VNet injection with no public IPs and NSGs is the baseline here (infra/README.md: how to turn it on).
  #checkov:skip=CKV2_AZURE_48:DBFS root holds no ParkPal data (all tables are Unity Catalog tables in the lake account); Microsoft-managed keys there. Add customer_managed_key_enabled when policy requires CMK everywhere.
  name                          = "dbw-${local.name}"
  resource_group_name           = azurerm_resource_group.this.name
  location                      = azurerm_resource_group.this.location
  sku                           = "premium"
  managed_resource_group_name   = "rg-${local.name}-dbw-managed"
  public_network_access_enabled = true # the workspace UI/API; data planes stay private
  tags                          = local.tags

  custom_parameters {
    no_public_ip                                         = true
    virtual_network_id                                   = azurerm_virtual_network.this.id
    public_subnet_name                                   = azurerm_subnet.databricks_public.name
    private_subnet_name                                  = azurerm_subnet.databricks_private.name
    public_subnet_network_security_group_association_id  = azurerm_subnet_network_security_group_association.databricks_public.id
    private_subnet_network_security_group_association_id = azurerm_subnet_network_security_group_association.databricks_private.id
  }
}

resource "azurerm_databricks_access_connector" "this" {
  name                = "dbac-${local.name}"
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  tags                = local.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_role_assignment" "connector_lake" {
  scope                = azurerm_storage_account.lake.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_databricks_access_connector.this.identity[0].principal_id
}

resource "databricks_metastore_assignment" "this" {
  workspace_id = azurerm_databricks_workspace.this.workspace_id
  metastore_id = var.databricks_metastore_id
}

# Key Vault-backed secret scope: `SecretRef(scope, key)` in the package resolves through it.
resource "databricks_secret_scope" "parkpal" {
  name = var.secret_scope_name

  keyvault_metadata {
    resource_id = azurerm_key_vault.this.id
    dns_name    = azurerm_key_vault.this.vault_uri
  }
}

# The identity prod jobs run as: the bundle's `run_as` looks it up by this display name.
resource "databricks_service_principal" "jobs" {
  display_name = "parkpal-jobs-${var.environment}"
}

resource "databricks_secret_acl" "jobs_read" {
  scope      = databricks_secret_scope.parkpal.name
  principal  = databricks_service_principal.jobs.application_id
  permission = "READ"
}

resource "databricks_secret_acl" "engineers_read" {
  scope      = databricks_secret_scope.parkpal.name
  principal  = var.engineers_group
  permission = "READ"
}
