output "arn" {
  description = "ARN of developer."
  value       = aws_iam_role.this.arn
}
