variable "archive_bucket" {
  description = "The Object-Locked audit archive receiving the trail under cloudtrail/."
  type        = string
}

variable "archive_bucket_arn" {
  description = "ARN of the archive, whose object reads and writes the trail records."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer KMS key of the trail, its log group and its topic."
  type        = string
}
