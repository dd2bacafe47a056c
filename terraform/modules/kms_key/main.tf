# A customer-managed KMS key: rotated yearly, with a key policy naming who may use it.
# Every data store of Strongroom is encrypted under one of these (PCI DSS 3.5.1, 3.6.1).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:in a key policy, Resource "*" means this key and nothing else
  #checkov:skip=CKV_AWS_356:in a key policy, Resource "*" means this key and nothing else
  #checkov:skip=CKV_AWS_109:in a key policy, Resource "*" means this key and nothing else
  # The account administers the key through IAM; without this statement a key whose
  # policy is wrong can never be changed again.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = length(var.user_arns) > 0 ? [1] : []
    content {
      sid       = "RolesUseTheKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"]
      resources = ["*"]
      principals {
        type        = "AWS"
        identifiers = var.user_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []
    content {
      sid       = "ServicesUseTheKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey", "kms:CreateGrant"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = var.service_principals
      }
      # Only on behalf of this account: no confused deputy from another account.
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json

  tags = {
    "pci-dss" = "3.5.1 3.6.1 3.7.4"
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/strongroom/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}
