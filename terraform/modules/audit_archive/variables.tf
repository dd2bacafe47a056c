variable "name" {
  description = "Name of the bucket."
  type        = string
}

variable "retention_days" {
  description = "Days each record is locked in compliance mode; PCI DSS 10.5.1 asks for a year."
  type        = number
  default     = 400

  validation {
    condition     = var.retention_days >= 365
    error_message = "Audit records are locked for at least 365 days (PCI DSS 10.5.1)."
  }
}

variable "kms_key_arn" {
  description = "Customer KMS key encrypting the records."
  type        = string
}

variable "reader_role_arns" {
  description = "The only roles that may read the archive (the security team's)."
  type        = list(string)
}

variable "writer_role_arns" {
  description = "Task roles that append audit records under services/ (the vault's shipper)."
  type        = list(string)
  default     = []
}

variable "access_log_bucket" {
  description = "Bucket receiving the archive's server access logs."
  type        = string
}
