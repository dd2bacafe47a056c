output "arn" {
  description = "ARN of the load balancer (WAF associates with it)."
  value       = aws_lb.this.arn
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension)."
  value       = aws_lb.this.arn_suffix
}

output "target_group_arn" {
  description = "Target group of the edge tasks."
  value       = aws_lb_target_group.edge.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the edge target group (CloudWatch dimension)."
  value       = aws_lb_target_group.edge.arn_suffix
}

output "dns_name" {
  description = "Name to point the api and js hosts at."
  value       = aws_lb.this.dns_name
}

output "certificate_validation_records" {
  description = "DNS records proving the hosts to ACM."
  value       = aws_acm_certificate.this.domain_validation_options
}
