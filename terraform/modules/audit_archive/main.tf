# The audit archive: an S3 bucket with Object Lock in compliance mode, so no one — not
# root, not the security team — can alter or delete an audit record before its retention
# ends (PCI DSS 10.3.2, 10.5.1). Only the readers named here may read it (10.3.1).

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Object Lock cannot be replicated by the default replication role; the backup plan's copy is the second site
  #checkov:skip=CKV2_AWS_62:nothing reacts to a new audit object; CloudTrail data events record every access
  bucket              = var.name
  object_lock_enabled = true

  lifecycle {
    prevent_destroy = true
  }

  tags = {
    "pci-dss" = "10.3.2 10.5.1"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled" # Object Lock requires it
  }
}

resource "aws_s3_bucket_object_lock_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    default_retention {
      mode = "COMPLIANCE"
      days = var.retention_days
    }
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    bucket_key_enabled = true
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_logging" "this" {
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.name}/"
}

# Older records move to cheaper storage; Object Lock still holds them there.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    id     = "archive"
    status = "Enabled"
    filter {}
    transition {
      days          = 90
      storage_class = "GLACIER_IR"
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "TLSOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Reading is for the readers alone, whatever else an IAM policy grants; but a writer may
  # read back (HeadObject) the records it appended under services/, and nothing else: its
  # shipper creates each record once and compares what is already under its key.
  statement {
    sid       = "OnlyReadersRead"
    effect    = "Deny"
    actions   = ["s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = var.reader_role_arns
    }
    condition {
      test     = "Bool"
      variable = "aws:PrincipalIsAWSService"
      values   = ["false"]
    }
  }

  statement {
    sid       = "OnlyReadersAndWritersGetObjects"
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = concat(var.reader_role_arns, var.writer_role_arns)
    }
    condition {
      test     = "Bool"
      variable = "aws:PrincipalIsAWSService"
      values   = ["false"]
    }
  }

  dynamic "statement" {
    for_each = length(var.writer_role_arns) > 0 ? [1] : []
    content {
      sid           = "WritersReadBackOnlyTheirRecords"
      effect        = "Deny"
      actions       = ["s3:GetObject"]
      not_resources = ["${aws_s3_bucket.this.arn}/services/*"]
      principals {
        type        = "AWS"
        identifiers = var.writer_role_arns
      }
    }
  }

  statement {
    sid       = "CloudTrailChecksTheBucket"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.this.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }

  statement {
    sid       = "CloudTrailWrites"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/cloudtrail/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }
  }

  dynamic "statement" {
    for_each = length(var.writer_role_arns) > 0 ? [1] : []
    content {
      sid       = "ServicesAppendAuditRecords"
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.this.arn}/services/*"]
      principals {
        type        = "AWS"
        identifiers = var.writer_role_arns
      }
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.this.json
}
