# security-auditor: reads the audit archive and CloudTrail, nothing else (PCI DSS 10.3.1,
# 7.2.2). MFA in the last hour; the archive's bucket policy lets no other role read it.

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
  name                 = "security-auditor"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600

  tags = {
    "pci-dss" = "7.2.2 10.3.1"
  }
}

data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ReadTheArchive"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:GetObjectRetention"]
    resources = [var.archive_bucket_arn, "${var.archive_bucket_arn}/*"]
  }
  statement {
    sid       = "DecryptTheArchive"
    actions   = ["kms:Decrypt"]
    resources = [var.archive_kms_key_arn]
  }
  statement {
    sid       = "FindTrails"
    actions   = ["cloudtrail:LookupEvents", "cloudtrail:DescribeTrails"]
    resources = ["*"]
  }
  statement {
    sid       = "ReadTheTrail"
    actions   = ["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus"]
    resources = [var.trail_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.read.json
}
