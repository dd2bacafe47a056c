output "arn" {
  description = "ARN of the trail."
  value       = aws_cloudtrail.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the trail."
  value       = aws_cloudwatch_log_group.this.name
}
