variable "name" {
  description = "Name of the bucket."
  type        = string
}
