variable "name" {
  description = "Name of the link (vault-internal, router)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the service offered."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the Network Load Balancer."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the Network Load Balancer."
  type        = list(string)
}

variable "port" {
  description = "Port of the service's tasks."
  type        = number
}

variable "consumer_principal_arn" {
  description = "The one principal of the other account that may connect (its Terraform role), never an account root or *."
  type        = string

  validation {
    condition     = can(regex("^arn:aws:iam::[0-9]{12}:role/", var.consumer_principal_arn))
    error_message = "Name one role of the consuming account."
  }
}

variable "accepted_endpoint_ids" {
  description = "Endpoint ids of the consumer, accepted once the consumer has applied."
  type        = list(string)
  default     = []
}
