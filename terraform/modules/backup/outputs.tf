output "vault_arn" {
  description = "ARN of the backup vault."
  value       = aws_backup_vault.this.arn
}

output "plan_id" {
  description = "Id of the backup plan."
  value       = aws_backup_plan.this.id
}

output "role_arn" {
  description = "Role AWS Backup uses, for selections made outside the module."
  value       = aws_iam_role.this.arn
}
