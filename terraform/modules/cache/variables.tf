variable "name" {
  description = "Name of the replication group."
  type        = string
}

variable "engine_version" {
  description = "Valkey version."
  type        = string
  default     = "8.0"
}

variable "node_type" {
  description = "Node type."
  type        = string
  default     = "cache.m7g.large"
}

variable "subnet_ids" {
  description = "Private subnets, in at least two zones."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the nodes (the root declares who reaches 6379)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "Customer KMS key encrypting the data at rest and the auth token."
  type        = string
}
