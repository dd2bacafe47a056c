# The API stacks' databases: RDS point-in-time restore over 14 days (in the
# database module) and the AWS Backup plan's weekly, monthly and yearly copies.
module "backup" {
  source         = "../../modules/backup"
  providers      = { aws = aws.app }
  name           = "strongroom-app"
  kms_key_arn    = module.data_key.arn
  copy_vault_arn = var.backup_copy_vault_arn
}
