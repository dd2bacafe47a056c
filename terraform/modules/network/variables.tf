variable "name" {
  description = "Name of the VPC (pci or app)."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's range; the two accounts' ranges may overlap, since PrivateLink needs no routing between them."
  type        = string
}

variable "availability_zones" {
  description = "Zones to spread subnets over; at least two so every service survives a zone."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "At least two availability zones."
  }
}

variable "public_subnets" {
  description = "Whether the VPC has public subnets (load balancer, NAT for outbound calls)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer KMS key encrypting the flow logs."
  type        = string
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints."
  type        = list(string)
  default     = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "kms", "monitoring", "sts"]
}
