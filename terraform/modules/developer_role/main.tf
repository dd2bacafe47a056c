# developer: the app account only. Deploys and watches the app-zone services; never reaches
# production data — no database connection, no secret, no decrypt, no object read, no
# shell, no log lines (PCI DSS 7.2.1, 7.2.2). MFA in the last twelve hours.

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
  }
}

resource "aws_iam_role" "this" {
  name                 = "developer"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 43200

  tags = {
    "pci-dss" = "7.2.1 7.2.2"
  }
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "develop" {
  statement {
    sid       = "SignInToTheRegistry"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "Deploy"
    actions   = ["ecs:UpdateService"]
    resources = ["arn:aws:ecs:*:${data.aws_caller_identity.current.account_id}:service/${var.cluster_name}/*"]
  }

  statement {
    sid = "PushImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage",
    ]
    resources = [var.repository_arn]
  }

  statement {
    sid    = "NeverProductionData"
    effect = "Deny"
    actions = [
      "rds-db:connect", "rds:DownloadDBLogFilePortion", "rds:CreateDBSnapshot", "rds:RestoreDBInstance*",
      "secretsmanager:GetSecretValue", "kms:Decrypt", "s3:GetObject", "elasticache:Connect",
      "ecs:ExecuteCommand", "ssm:StartSession", "logs:GetLogEvents", "logs:FilterLogEvents",
      "logs:StartQuery", "backup:StartRestoreJob", "iam:PassRole",
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
  policy = data.aws_iam_policy_document.develop.json
}
