# Names the package relies on. tests/infra/test_terraform.py checks them against
# parkpal_lakehouse.config (HUBS, LAKE_CONTAINERS, LAYERS, secret keys, consumer group).
locals {
  name = "${var.name_prefix}${var.environment}"
  tags = merge(var.tags, { project = "parkpal-lakehouse", environment = var.environment })

  event_hubs = {
    "activity-events" = { partitions = 4, retention_days = 7 }
    "geofence-events" = { partitions = 2, retention_days = 7 }
    "gate-events"     = { partitions = 2, retention_days = 7 }
  }
  databricks_consumer_group = "databricks"

  lake_containers = ["landing", "bronze", "silver", "gold", "checkpoints"]
  schemas         = ["bronze", "silver", "gold", "ops"]

  eventhubs_listen_secret = "eventhubs-listen-connection-string"
  eventhubs_send_secret   = "eventhubs-send-connection-string"
  pseudonym_key_secret    = "gold-pseudonym-key"
}

resource "azurerm_resource_group" "this" {
  name     = "rg-${local.name}"
  location = var.location
  tags     = local.tags
}

data "azurerm_client_config" "current" {}
