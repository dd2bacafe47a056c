variable "principal_arns" {
  description = "The security team's people who may assume security-auditor."
  type        = list(string)

  validation {
    condition     = length(var.principal_arns) >= 1 && alltrue([for arn in var.principal_arns : !endswith(arn, ":root") && !strcontains(arn, "*")])
    error_message = "Name people, not an account root or a wildcard."
  }
}

variable "archive_bucket_arn" {
  description = "ARN of the audit archive bucket."
  type        = string
}

variable "archive_kms_key_arn" {
  description = "Customer KMS key of the archive."
  type        = string
}

variable "trail_arn" {
  description = "The account's CloudTrail trail."
  type        = string
}
