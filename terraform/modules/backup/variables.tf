variable "name" {
  description = "Name of the backup vault and plan."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer KMS key encrypting the recovery points."
  type        = string
}

variable "copy_vault_arn" {
  description = "A backup vault in another region receiving copies of the weekly, monthly and yearly points, or null."
  type        = string
  default     = null
}
