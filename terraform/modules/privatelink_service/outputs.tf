output "service_name" {
  description = "Name the consumer's endpoint connects to."
  value       = aws_vpc_endpoint_service.this.service_name
}

output "target_group_arn" {
  description = "Target group the service's tasks register with."
  value       = aws_lb_target_group.this.arn
}
