# CloudTrail of the account: every region, management events and reads and writes of the
# audit archive itself, digest files to prove nothing was changed (PCI DSS 10.3.4),
# delivered to the Object-Locked archive and to CloudWatch Logs for the alarms.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/strongroom/cloudtrail"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn

  tags = {
    "pci-dss" = "10.2.1 10.5.1"
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }
}

resource "aws_iam_role" "this" {
  name               = "cloudtrail-to-logs"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = {
    "pci-dss" = "10.2.1"
  }
}

resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_sns_topic" "this" {
  name              = "strongroom-cloudtrail"
  kms_master_key_id = var.kms_key_arn

  tags = {
    "pci-dss" = "10.7.1"
  }
}

resource "aws_cloudtrail" "this" {
  name                          = "strongroom"
  s3_bucket_name                = var.archive_bucket
  s3_key_prefix                 = "cloudtrail"
  kms_key_id                    = var.kms_key_arn
  enable_log_file_validation    = true
  is_multi_region_trail         = true
  include_global_service_events = true
  cloud_watch_logs_group_arn    = "${aws_cloudwatch_log_group.this.arn}:*"
  cloud_watch_logs_role_arn     = aws_iam_role.this.arn
  sns_topic_name                = aws_sns_topic.this.name

  event_selector {
    read_write_type           = "All"
    include_management_events = true

    data_resource {
      type   = "AWS::S3::Object"
      values = ["${var.archive_bucket_arn}/"]
    }
  }

  tags = {
    "pci-dss" = "10.2.1 10.2.2 10.3.4"
  }
}
