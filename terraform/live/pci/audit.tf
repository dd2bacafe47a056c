# Who may enter and what is kept: the audit archive (Object Lock, compliance mode, a year
# and more), CloudTrail into it, and the account's only two roles for people.

module "audit_archive" {
  source            = "../../modules/audit_archive"
  providers         = { aws = aws.pci }
  name              = "strongroom-pci-audit-${data.aws_caller_identity.current.account_id}"
  retention_days    = 400
  kms_key_arn       = module.audit_key.arn
  reader_role_arns  = [module.auditor.arn]
  writer_role_arns  = [module.vault.task_role_arn]
  access_log_bucket = module.access_logs.bucket
}

module "cloudtrail" {
  source             = "../../modules/cloudtrail"
  providers          = { aws = aws.pci }
  archive_bucket     = module.audit_archive.bucket
  archive_bucket_arn = module.audit_archive.arn
  kms_key_arn        = module.audit_key.arn
}

module "operator" {
  source             = "../../modules/operator_role"
  providers          = { aws = aws.pci }
  principal_arns     = var.operator_principal_arns
  cluster_name       = aws_ecs_cluster.this.name
  blocked_ip_set_arn = module.waf.blocked_ip_set_arn
}

module "auditor" {
  source              = "../../modules/auditor_role"
  providers           = { aws = aws.pci }
  principal_arns      = var.auditor_principal_arns
  archive_bucket_arn  = module.audit_archive.arn
  archive_kms_key_arn = module.audit_key.arn
  trail_arn           = module.cloudtrail.arn
}
