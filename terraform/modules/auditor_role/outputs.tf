output "arn" {
  description = "ARN of security-auditor."
  value       = aws_iam_role.this.arn
}
