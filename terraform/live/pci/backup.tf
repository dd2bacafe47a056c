# The vault's and Transit's databases: RDS point-in-time restore over 14 days (in the
# database module) and the AWS Backup plan's weekly, monthly and yearly copies.
module "backup" {
  source         = "../../modules/backup"
  providers      = { aws = aws.pci }
  name           = "strongroom-pci"
  kms_key_arn    = module.data_key.arn
  copy_vault_arn = var.backup_copy_vault_arn
}

# The audit log volume by name as well as by tag: a tag typo must not drop it from the plan.
resource "aws_backup_selection" "audit_volume" {
  provider     = aws.pci
  name         = "vault-audit-volume"
  plan_id      = module.backup.plan_id
  iam_role_arn = module.backup.role_arn
  resources    = [aws_efs_file_system.audit.arn]
}
