# Key Vault holds the Event Hubs connection strings; Databricks reads them through the Key Vault-backed
# secret scope (databricks.tf). RBAC authorization, purge protection, firewall deny by default.
resource "azurerm_key_vault" "this" {
  name                          = "kv-${local.name}"
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  enable_rbac_authorization     = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = length(var.allowed_ip_ranges) > 0
  tags                          = local.tags

  network_acls {
    default_action             = "Deny"
    bypass                     = "AzureServices"
    ip_rules                   = var.allowed_ip_ranges
    virtual_network_subnet_ids = local.databricks_subnets
  }
}

# Whoever applies Terraform writes the secrets; Databricks' first-party app reads them for the scope.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "eventhubs" {
  for_each = {
    (local.eventhubs_listen_secret) = azurerm_eventhub_namespace_authorization_rule.listen.primary_connection_string
    (local.eventhubs_send_secret)   = azurerm_eventhub_namespace_authorization_rule.send.primary_connection_string
  }
  name            = each.key
  value           = each.value
  key_vault_id    = azurerm_key_vault.this.id
  content_type    = "text/plain; Event Hubs namespace connection string"
  expiration_date = var.secret_expiry_date
  depends_on      = [azurerm_role_assignment.deployer_secrets_officer]
}

# The key of the keyed hash that turns user ids and licence plates into pseudonymous keys in gold
# (parkpal_lakehouse.gold.keys). Generated once; rotating it changes every user_key / plate_key.
resource "random_password" "pseudonym_key" {
  length  = 48
  special = false
}

resource "azurerm_key_vault_secret" "pseudonym_key" {
  name            = local.pseudonym_key_secret
  value           = random_password.pseudonym_key.result
  key_vault_id    = azurerm_key_vault.this.id
  content_type    = "text/plain; gold pseudonym key"
  expiration_date = var.secret_expiry_date
  depends_on      = [azurerm_role_assignment.deployer_secrets_officer]
}
