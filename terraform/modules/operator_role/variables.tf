variable "principal_arns" {
  description = "The named people (IAM users or identity-center roles) who may assume pci-operator: one or two."
  type        = list(string)

  validation {
    condition     = length(var.principal_arns) >= 1 && length(var.principal_arns) <= 2
    error_message = "pci-operator has one or two principals, no more."
  }

  validation {
    condition     = alltrue([for arn in var.principal_arns : !endswith(arn, ":root") && !strcontains(arn, "*")])
    error_message = "Name people, not an account root or a wildcard."
  }
}

variable "cluster_name" {
  description = "The ECS cluster whose services the operator deploys and scales."
  type        = string
}

variable "blocked_ip_set_arn" {
  description = "The WAF IP set the operator edits to block addresses."
  type        = string
}
