# The app account's CloudTrail into an Object-Locked archive of its own, and its two
# roles for people: developer (no production data) and security-auditor.

module "audit_archive" {
  source            = "../../modules/audit_archive"
  providers         = { aws = aws.app }
  name              = "strongroom-app-audit-${data.aws_caller_identity.current.account_id}"
  retention_days    = 400
  kms_key_arn       = module.audit_key.arn
  reader_role_arns  = [module.auditor.arn]
  access_log_bucket = module.access_logs.bucket
}

module "cloudtrail" {
  source             = "../../modules/cloudtrail"
  providers          = { aws = aws.app }
  archive_bucket     = module.audit_archive.bucket
  archive_bucket_arn = module.audit_archive.arn
  kms_key_arn        = module.audit_key.arn
}

module "developer" {
  source         = "../../modules/developer_role"
  providers      = { aws = aws.app }
  principal_arns = var.developer_principal_arns
  cluster_name   = aws_ecs_cluster.this.name
  repository_arn = aws_ecr_repository.strongroom.arn
}

module "auditor" {
  source              = "../../modules/auditor_role"
  providers           = { aws = aws.app }
  principal_arns      = var.auditor_principal_arns
  archive_bucket_arn  = module.audit_archive.arn
  archive_kms_key_arn = module.audit_key.arn
  trail_arn           = module.cloudtrail.arn
}
