variable "name" {
  description = "Name of the load balancer."
  type        = string
}

variable "domain_names" {
  description = "Host names served (the api host first, then the js host)."
  type        = list(string)
}

variable "vpc_id" {
  description = "VPC of the edge tasks."
  type        = string
}

variable "subnet_ids" {
  description = "Public subnets of the load balancer."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the load balancer (the root declares its 443 ingress)."
  type        = list(string)
}

variable "edge_port" {
  description = "Port of the edge tasks."
  type        = number
}

variable "access_log_bucket" {
  description = "Bucket receiving access logs under alb/."
  type        = string
}

variable "web_acl_arn" {
  description = "WAF web ACL guarding the load balancer (module waf)."
  type        = string
}

variable "idle_timeout" {
  description = "Seconds the load balancer keeps an idle connection (to a client or to an edge task) open; the edge's EDGE_KEEPALIVE_TIMEOUT must be longer."
  type        = number
  default     = 60
}
