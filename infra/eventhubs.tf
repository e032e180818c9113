# Event Hubs Standard with auto-inflate; Databricks reads through the Kafka endpoint (port 9093) with
# its own consumer group and a listen-only rule; phones' and gates' backends send with a send-only rule.
resource "azurerm_eventhub_namespace" "this" {
  name                          = "evhns-${local.name}"
  location                      = azurerm_resource_group.this.location
  resource_group_name           = azurerm_resource_group.this.name
  sku                           = "Standard"
  capacity                      = 1
  auto_inflate_enabled          = true
  maximum_throughput_units      = var.eventhubs_max_throughput_units
  minimum_tls_version           = "1.2"
  public_network_access_enabled = length(var.allowed_ip_ranges) > 0
  local_authentication_enabled  = true # SAS: the Kafka endpoint's `$ConnectionString` login needs it
  tags                          = local.tags

  network_rulesets {
    default_action                 = "Deny"
    trusted_service_access_enabled = true
    ip_rule = [for cidr in var.allowed_ip_ranges : {
      ip_mask = cidr
      action  = "Allow"
    }]
    virtual_network_rule = [for id in local.databricks_subnets : {
      subnet_id                                       = id
      ignore_missing_virtual_network_service_endpoint = false
    }]
  }
}

resource "azurerm_eventhub" "hubs" {
  for_each          = local.event_hubs
  name              = each.key
  namespace_id      = azurerm_eventhub_namespace.this.id
  partition_count   = each.value.partitions
  message_retention = each.value.retention_days
}

resource "azurerm_eventhub_consumer_group" "databricks" {
  for_each            = azurerm_eventhub.hubs
  name                = local.databricks_consumer_group
  namespace_name      = azurerm_eventhub_namespace.this.name
  eventhub_name       = each.value.name
  resource_group_name = azurerm_resource_group.this.name
}

resource "azurerm_eventhub_namespace_authorization_rule" "send" {
  name                = "parkpal-send"
  namespace_name      = azurerm_eventhub_namespace.this.name
  resource_group_name = azurerm_resource_group.this.name
  send                = true
  listen              = false
  manage              = false
}

resource "azurerm_eventhub_namespace_authorization_rule" "listen" {
  name                = "parkpal-listen"
  namespace_name      = azurerm_eventhub_namespace.this.name
  resource_group_name = azurerm_resource_group.this.name
  send                = false
  listen              = true
  manage              = false
}
