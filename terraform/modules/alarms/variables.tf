variable "topic_name" {
  description = "Name of the SNS topic the alarms notify."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer KMS key of the topic."
  type        = string
}

variable "emails" {
  description = "Addresses subscribed to the topic (the on-call rota's pager address)."
  type        = list(string)
  default     = []
}

variable "alarms" {
  description = "Alarms on one metric each, by name."
  type = map(object({
    description        = string
    namespace          = string
    metric_name        = string
    dimensions         = map(string)
    statistic          = optional(string, "Maximum")
    extended_statistic = optional(string)
    comparison         = optional(string, "GreaterThanThreshold")
    threshold          = number
    period             = optional(number, 60)
    evaluation_periods = optional(number, 1)
    treat_missing_data = optional(string, "notBreaching")
  }))
}

variable "rate_alarms" {
  description = "Alarms on the ratio of two metrics (numerator / denominator), by name."
  type = map(object({
    description        = string
    namespace          = string
    numerator          = string
    denominator        = string
    dimensions         = map(string)
    threshold          = number
    period             = optional(number, 300)
    evaluation_periods = optional(number, 2)
  }))
  default = {}
}
