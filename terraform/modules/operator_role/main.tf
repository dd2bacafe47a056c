# pci-operator: the one way a person enters the PCI account. At most two named principals
# (PCI DSS 7.2.2, least privilege by need to know), MFA in the last hour (8.4.2), one-hour
# sessions. It operates the services; it cannot read card data, the audit archive or a
# secret, and it cannot open a shell in a task.

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.principal_arns
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "aws:MultiFactorAuthAge"
      values   = ["3600"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "pci-operator"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600

  tags = {
    "pci-dss" = "7.2.1 7.2.2 8.4.2"
  }
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "operate" {
  statement {
    sid       = "DeployAndScale"
    actions   = ["ecs:UpdateService"]
    resources = ["arn:aws:ecs:*:${data.aws_caller_identity.current.account_id}:service/${var.cluster_name}/*"]
  }

  statement {
    sid       = "BlockAddresses"
    actions   = ["wafv2:UpdateIPSet"]
    resources = [var.blocked_ip_set_arn]
  }

  statement {
    sid       = "Restore"
    actions   = ["backup:StartRestoreJob"]
    resources = ["arn:aws:backup:*:${data.aws_caller_identity.current.account_id}:recovery-point:*"]
  }

  # Whatever is attached later, these stay out of reach of an operator.
  statement {
    sid    = "NeverData"
    effect = "Deny"
    actions = [
      "ecs:ExecuteCommand", "secretsmanager:GetSecretValue", "kms:Decrypt", "rds-db:connect",
      "s3:GetObject", "s3:DeleteObject", "s3:PutBucketObjectLockConfiguration",
      "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "backup:DeleteRecoveryPoint",
    ]
    resources = ["*"]
  }
}

# Seeing how things run: AWS's view-only job function (lists and describes, no data).
resource "aws_iam_role_policy_attachment" "view" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
}

resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.operate.json
}
