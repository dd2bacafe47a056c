variable "name" {
  description = "Short name of the key, used in its alias (alias/strongroom/NAME)."
  type        = string
}

variable "description" {
  description = "What the key protects."
  type        = string
}

variable "user_arns" {
  description = "IAM roles that encrypt and decrypt with the key (task roles, operators)."
  type        = list(string)
  default     = []
}

variable "service_principals" {
  description = "AWS services that use the key for this account (logs.REGION.amazonaws.com, cloudtrail.amazonaws.com...)."
  type        = list(string)
  default     = []
}
