variable "principal_arns" {
  description = "The developers who may assume the role."
  type        = list(string)

  validation {
    condition     = alltrue([for arn in var.principal_arns : !endswith(arn, ":root") && !strcontains(arn, "*")])
    error_message = "Name people, not an account root or a wildcard."
  }
}

variable "cluster_name" {
  description = "The app account's ECS cluster, whose services developers deploy."
  type        = string
}

variable "repository_arn" {
  description = "The ECR repository developers push images to."
  type        = string
}
