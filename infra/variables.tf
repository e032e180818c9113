variable "subscription_id" {
  type        = string
  description = "Azure subscription that holds every ParkPal resource."
}

variable "environment" {
  type        = string
  description = "Deployment environment; matches the bundle target (dev or prod)."
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "location" {
  type        = string
  description = "Azure region, e.g. southeastasia (closest to the Philippines)."
  default     = "southeastasia"
}

variable "name_prefix" {
  type        = string
  description = "Short lowercase prefix for resource names (3-10 letters/digits); names must be globally unique for storage, Key Vault and Event Hubs."
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,9}$", var.name_prefix))
    error_message = "name_prefix must be 3-10 lowercase letters or digits, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource."
  default     = {}
}

variable "vnet_address_space" {
  type        = string
  description = "Address space of the ParkPal virtual network (Databricks VNet injection and private endpoints)."
  default     = "10.42.0.0/16"
}

variable "allowed_ip_ranges" {
  type        = list(string)
  description = "Public CIDR ranges (e.g. the office or CI egress) allowed through the storage, Key Vault and Event Hubs firewalls for Terraform and operators. Empty: private endpoints only."
  default     = []
}

variable "eventhubs_max_throughput_units" {
  type        = number
  description = "Auto-inflate ceiling of the Event Hubs namespace (Standard tier: 1-40)."
  default     = 20
  validation {
    condition     = var.eventhubs_max_throughput_units >= 1 && var.eventhubs_max_throughput_units <= 40
    error_message = "eventhubs_max_throughput_units must be between 1 and 40."
  }
}

variable "landing_cool_after_days" {
  type        = number
  description = "Days after which raw landing files move to the cool tier."
  default     = 30
}

variable "landing_archive_after_days" {
  type        = number
  description = "Days after which raw landing files move to the archive tier."
  default     = 180
}

variable "databricks_metastore_id" {
  type        = string
  description = "Unity Catalog metastore of the region, assigned to the workspace (one metastore per region per account)."
}

variable "catalog_name" {
  type        = string
  description = "Unity Catalog catalog for this environment; the bundle's `catalog` variable must use the same name."
  default     = "parkpal"
}

variable "engineers_group" {
  type        = string
  description = "Databricks account group of data engineers (read-write on bronze and silver, owners of the jobs)."
  default     = "parkpal-engineers"
}

variable "analysts_group" {
  type        = string
  description = "Databricks account group of analysts (SELECT on gold only)."
  default     = "parkpal-analysts"
}

variable "secret_scope_name" {
  type        = string
  description = "Key Vault-backed Databricks secret scope; `databricks_config(secret_scope=...)` reads from it."
  default     = "parkpal"
}

variable "secret_expiry_date" {
  type        = string
  description = "RFC 3339 expiry of the Event Hubs connection strings stored in Key Vault; rotate before it."
  default     = "2027-12-31T00:00:00Z"
}
