variable "name" {
  description = "Name of the link (router, vault-internal)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the consumers."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the endpoint."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the endpoint (the root lets in exactly the clients)."
  type        = list(string)
}

variable "service_name" {
  description = "Endpoint service name offered by the other account."
  type        = string
}
