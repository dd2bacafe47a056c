variable "name" {
  description = "Identifier of the database instance (vault, api-test, api-live)."
  type        = string
}

variable "database_name" {
  description = "Name of the database inside the instance."
  type        = string
}

variable "engine_version" {
  description = "Major version of PostgreSQL."
  type        = string
  default     = "17"
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.m7g.large"
}

variable "allocated_storage" {
  description = "Storage in GiB at start; autoscaling may grow it to four times this."
  type        = number
  default     = 100
}

variable "subnet_ids" {
  description = "Private subnets, in at least two zones."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the instance (the root declares who reaches 5432)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Customer KMS key encrypting storage, snapshots, Performance Insights and the master secret."
  type        = string

  validation {
    condition     = length(var.kms_key_arn) > 0
    error_message = "A customer KMS key is required: no data store uses the AWS-managed key."
  }
}

variable "pci_dss" {
  description = "PCI DSS requirements the database serves, for its tag."
  type        = string
}
