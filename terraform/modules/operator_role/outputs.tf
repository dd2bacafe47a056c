output "arn" {
  description = "ARN of pci-operator."
  value       = aws_iam_role.this.arn
}
