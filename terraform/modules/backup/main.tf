# AWS Backup beside each database's own point-in-time restore: continuous backups for 14
# days, weekly copies kept 4 weeks, monthly copies kept 12 months, one yearly copy, in a
# vault locked in compliance mode under a customer key (PCI DSS 3.5.1, 12.10.1). Every
# resource tagged backup = strongroom is selected.

resource "aws_backup_vault" "this" {
  name        = var.name
  kms_key_arn = var.kms_key_arn

  tags = {
    "pci-dss" = "3.5.1 12.10.1"
  }
}

# Compliance-mode lock: after the grace period no one can shorten retention or delete a copy.
resource "aws_backup_vault_lock_configuration" "this" {
  backup_vault_name   = aws_backup_vault.this.name
  min_retention_days  = 14
  max_retention_days  = 400
  changeable_for_days = 3
}

resource "aws_backup_plan" "this" {
  name = var.name

  rule {
    rule_name                = "continuous"
    target_vault_name        = aws_backup_vault.this.name
    schedule                 = "cron(0 * ? * * *)"
    enable_continuous_backup = true # point-in-time restore
    lifecycle {
      delete_after = 14
    }
  }

  rule {
    rule_name         = "weekly"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(0 3 ? * SUN *)"
    lifecycle {
      delete_after = 28 # four weekly copies
    }
    dynamic "copy_action" {
      for_each = var.copy_vault_arn == null ? [] : [var.copy_vault_arn]
      content {
        destination_vault_arn = copy_action.value
        lifecycle {
          delete_after = 28
        }
      }
    }
  }

  rule {
    rule_name         = "monthly"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(0 4 1 * ? *)"
    lifecycle {
      delete_after = 365 # twelve monthly copies
    }
    dynamic "copy_action" {
      for_each = var.copy_vault_arn == null ? [] : [var.copy_vault_arn]
      content {
        destination_vault_arn = copy_action.value
        lifecycle {
          delete_after = 365
        }
      }
    }
  }

  rule {
    rule_name         = "yearly"
    target_vault_name = aws_backup_vault.this.name
    schedule          = "cron(0 5 1 1 ? *)"
    lifecycle {
      delete_after = 366 # one yearly copy, kept until the next one exists
    }
    dynamic "copy_action" {
      for_each = var.copy_vault_arn == null ? [] : [var.copy_vault_arn]
      content {
        destination_vault_arn = copy_action.value
        lifecycle {
          delete_after = 366
        }
      }
    }
  }

  tags = {
    "pci-dss" = "12.10.1"
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-backup"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = {
    "pci-dss" = "7.2.1"
  }
}

resource "aws_iam_role_policy_attachment" "backup" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
}

resource "aws_iam_role_policy_attachment" "restore" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
}

resource "aws_backup_selection" "this" {
  name         = var.name
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.this.arn

  selection_tag {
    type  = "STRINGEQUALS"
    key   = "backup"
    value = "strongroom"
  }
}
