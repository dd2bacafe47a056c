variable "name" {
  description = "Name of the service (edge, vault, router, api-test, api-live, fraud)."
  type        = string
}

variable "image" {
  description = "Image of the service, by digest (REPO@sha256:...): what runs is what was scanned."
  type        = string

  validation {
    condition     = can(regex("@sha256:[0-9a-f]{64}$", var.image))
    error_message = "Pin the image by digest."
  }
}

variable "command" {
  description = "Arguments to the image's entrypoint (python -m): the service's package name."
  type        = list(string)
}

variable "port" {
  description = "Port the service listens on."
  type        = number
}

variable "metrics_port" {
  description = "Internal port of /metrics; null for no metrics collector."
  type        = number
  default     = null
}

variable "collector_image" {
  description = "Image of the metrics collector sidecar (AWS Distro for OpenTelemetry), by digest."
  type        = string
  default     = null
}

variable "environment" {
  description = "Plain settings of the service."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Secret settings: variable name to Secrets Manager ARN, handed over by ECS, never in the task definition."
  type        = map(string)
  default     = {}
}

variable "cpu" {
  description = "CPU units of a task."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Memory of a task in MiB."
  type        = number
  default     = 1024
}

variable "min_tasks" {
  description = "Fewest tasks; two at least, so a task or a zone can fail."
  type        = number
  default     = 2

  validation {
    condition     = var.min_tasks >= 2
    error_message = "Every Strongroom service runs at least two tasks."
  }
}

variable "max_tasks" {
  description = "Most tasks autoscaling may start."
  type        = number
  default     = 10
}

variable "cpu_target" {
  description = "Average CPU utilisation (percent) autoscaling keeps."
  type        = number
  default     = 60
}

variable "custom_scaling" {
  description = "More target-tracking policies on the service's own metrics (namespace Strongroom, per task)."
  type = map(object({
    metric_name = string
    target      = number
  }))
  default = {}
}

variable "cluster_arn" {
  description = "ECS cluster ARN."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster name (autoscaling names the service by it)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the tasks."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the tasks (the flows are declared by the account's root)."
  type        = list(string)
}

variable "target_group_arns" {
  description = "Target groups the tasks register with."
  type        = list(string)
  default     = []
}

variable "discovery_service_arn" {
  description = "Cloud Map service the tasks register with, or null."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "Customer KMS key of the logs and the secrets."
  type        = string
}

variable "task_policy_json" {
  description = "What the service's code may do in AWS, as a policy document; null for nothing."
  type        = string
  default     = null
}

variable "pci_dss" {
  description = "PCI DSS requirements the service serves, for its tag."
  type        = string
}

variable "shared_volume" {
  description = "An EFS access point mounted at path in every task (the vault's audit log, shared by its tasks under flock), or null."
  type = object({
    file_system_id  = string
    access_point_id = string
    path            = string
  })
  default = null
}

variable "sidecar" {
  description = "A second process of the task, from the same image, or null: its name, command and plain environment. It gets no port, no secret, no /tmp of the service's (where the service's keys are written), and only the EFS access point given, mounted read-only at path (of the shared volume's file system)."
  type = object({
    name        = string
    command     = list(string)
    environment = map(string)
    volume = object({
      access_point_id = string
      path            = string
    })
  })
  default = null

  validation {
    condition     = var.sidecar == null || var.shared_volume != null
    error_message = "A sidecar reads the shared volume's file system: set shared_volume."
  }
}
