# ADLS Gen2 (hierarchical namespace): one container per lake layer plus landing and checkpoints.
# Private by default: no public blob access, no shared keys, firewall deny except the Databricks
# subnets, trusted Azure services and `allowed_ip_ranges`.
resource "azurerm_storage_account" "lake" {
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys with infrastructure (double) encryption; a customer-managed key adds a Key Vault key rotation duty the platform team opts into via customer_managed_key.
  #checkov:skip=CKV_AZURE_33:The lake uses no queue service; blob access is logged through storage insights (monitoring.tf).
  name                              = "st${local.name}lake"
  resource_group_name               = azurerm_resource_group.this.name
  location                          = azurerm_resource_group.this.location
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = "RAGRS" # geo-redundant, and supports the archive tier (ZRS/GZRS do not)
  is_hns_enabled                    = true
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = false
  public_network_access_enabled     = length(var.allowed_ip_ranges) > 0
  infrastructure_encryption_enabled = true
  default_to_oauth_authentication   = true
  local_user_enabled                = false
  tags                              = local.tags

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices"]
    ip_rules                   = var.allowed_ip_ranges
    virtual_network_subnet_ids = local.databricks_subnets
  }

  blob_properties {
    delete_retention_policy {
      days = 14
    }
    container_delete_retention_policy {
      days = 14
    }
  }

  sas_policy {
    expiration_period = "01.00:00:00"
  }
}

resource "azurerm_storage_container" "lake" {
  #checkov:skip=CKV2_AZURE_21:Blob read/write/delete logging is on through the blob service's diagnostic setting (monitoring.tf, azurerm_monitor_diagnostic_setting.lake_blobs); the check only recognises key-based storage insights, which a shared-key-free account cannot use.
  for_each              = toset(local.lake_containers)
  name                  = each.key
  storage_account_id    = azurerm_storage_account.lake.id
  container_access_type = "private"
}

# Raw landing data (Event Hubs Capture format) is kept for replays, then ages into cheaper tiers.
resource "azurerm_storage_management_policy" "landing" {
  storage_account_id = azurerm_storage_account.lake.id

  rule {
    name    = "landing-to-cool-then-archive"
    enabled = true
    filters {
      blob_types   = ["blockBlob"]
      prefix_match = ["landing/"]
    }
    actions {
      base_blob {
        tier_to_cool_after_days_since_modification_greater_than    = var.landing_cool_after_days
        tier_to_archive_after_days_since_modification_greater_than = var.landing_archive_after_days
      }
    }
  }
}
