variable "region" {
  description = "Region of the app account's resources (the PCI account's region: PrivateLink is regional)."
  type        = string
}

variable "app_account_id" {
  description = "The app account: router, API stacks, fraud."
  type        = string
}

variable "pci_consumer_role_arn" {
  description = "The PCI account's Terraform role: the one principal allowed to connect to the router's endpoint service."
  type        = string
}

variable "vpc_cidr" {
  description = "Range of the app VPC."
  type        = string
  default     = "10.30.0.0/16"
}

variable "availability_zones" {
  description = "Zones of the app VPC (two at least)."
  type        = list(string)
}

variable "image" {
  description = "The Strongroom image (one image, every service), by digest, in this account's ECR."
  type        = string
}

variable "collector_image" {
  description = "The metrics collector sidecar's image, by digest."
  type        = string
}

variable "vault_service_name" {
  description = "Endpoint service name of the vault's internal port (output vault_service_name of live/pci); null until live/pci is applied."
  type        = string
  default     = null
}

variable "accepted_router_endpoint_ids" {
  description = "The PCI account's endpoint ids to accept on the router's service (output router_endpoint_id of live/pci)."
  type        = list(string)
  default     = []
}

variable "developer_principal_arns" {
  description = "The developers who may assume the developer role."
  type        = list(string)
}

variable "auditor_principal_arns" {
  description = "The security team's people who may assume security-auditor."
  type        = list(string)
}

variable "alarm_emails" {
  description = "Addresses paged by the app account's alarms."
  type        = list(string)
  default     = []
}

variable "backup_copy_vault_arn" {
  description = "A backup vault in another region for copies of the weekly, monthly and yearly points, or null."
  type        = string
  default     = null
}
