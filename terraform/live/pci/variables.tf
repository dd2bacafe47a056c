variable "region" {
  description = "Region of the PCI account's resources."
  type        = string
}

variable "pci_account_id" {
  description = "The PCI account: edge, vault, audit archive."
  type        = string
}

variable "app_consumer_role_arn" {
  description = "The app account's Terraform role: the one principal allowed to connect to the vault's internal endpoint service."
  type        = string
}

variable "vpc_cidr" {
  description = "Range of the PCI VPC."
  type        = string
  default     = "10.20.0.0/16"
}

variable "availability_zones" {
  description = "Zones of the PCI VPC (two at least)."
  type        = list(string)
}

variable "api_host" {
  description = "Public host name of the API (api.example.com)."
  type        = string
}

variable "js_host" {
  description = "Public host name of the JS bundle (js.example.com)."
  type        = string
}

variable "image" {
  description = "The Strongroom image (one image, every service), by digest, in this account's ECR."
  type        = string
}

variable "collector_image" {
  description = "The metrics collector sidecar's image, by digest."
  type        = string
}

variable "transit_image" {
  description = "The OpenBao image serving Transit, by digest."
  type        = string
}

variable "operator_principal_arns" {
  description = "The one or two people who may assume pci-operator."
  type        = list(string)
}

variable "auditor_principal_arns" {
  description = "The security team's people who may assume security-auditor."
  type        = list(string)
}

variable "blocked_cidrs" {
  description = "Addresses WAF blocks (the IP-set hook)."
  type        = list(string)
  default     = []
}

variable "card_network_cidrs" {
  description = "Addresses of the card network's endpoint: the only place the vault calls out to."
  type        = list(string)
}

variable "card_network_url" {
  description = "Base URL of the card network's endpoint (https://, port 443: the only port the vault may reach on card_network_cidrs); the vault's VAULT_NETWORK_URL."
  type        = string

  validation {
    condition     = can(regex("^https://[^/:]+(:443)?(/.*)?$", var.card_network_url))
    error_message = "An https:// URL on port 443."
  }
}

variable "environment" {
  description = "Name of this deployment, which every signed operator command must name (VAULT_ENVIRONMENT)."
  type        = string
  default     = "production"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.environment))
    error_message = "Lower-case letters, digits and hyphens, 32 at most."
  }
}

variable "router_service_name" {
  description = "Endpoint service name of the app account's router (output router_service_name of live/app); null until live/app is applied."
  type        = string
  default     = null
}

variable "accepted_vault_endpoint_ids" {
  description = "The app account's endpoint ids to accept on the vault's internal service (output vault_endpoint_id of live/app)."
  type        = list(string)
  default     = []
}

variable "alarm_emails" {
  description = "Addresses paged by the PCI account's alarms."
  type        = list(string)
  default     = []
}

variable "backup_copy_vault_arn" {
  description = "A backup vault in another region for copies of the weekly, monthly and yearly points, or null."
  type        = string
  default     = null
}
