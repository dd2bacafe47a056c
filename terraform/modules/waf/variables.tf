variable "name" {
  description = "Name of the web ACL."
  type        = string
}

variable "blocked_cidrs" {
  description = "The IP-set hook: addresses the security team blocks (CIDR)."
  type        = list(string)
  default     = []
}

variable "requests_per_5_minutes" {
  description = "Requests one address may send in five minutes before it is blocked."
  type        = number
  default     = 2000
}

variable "kms_key_arn" {
  description = "Customer KMS key of the WAF logs."
  type        = string
}
