# The account's alarms, all to one SNS topic encrypted under a customer key (PCI DSS
# 10.7.1: failures of critical controls are detected and alerted). Simple alarms read one
# metric; rate alarms divide one metric by another (5xx per request).

resource "aws_sns_topic" "this" {
  name              = var.topic_name
  kms_master_key_id = var.kms_key_arn

  tags = {
    "pci-dss" = "10.7.1 12.10.1"
  }
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.emails)
  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each            = var.alarms
  alarm_name          = each.key
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.extended_statistic == null ? each.value.statistic : null
  extended_statistic  = each.value.extended_statistic
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  tags = {
    "pci-dss" = "10.7.1"
  }
}

resource "aws_cloudwatch_metric_alarm" "rate" {
  for_each            = var.rate_alarms
  alarm_name          = each.key
  alarm_description   = each.value.description
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  evaluation_periods  = each.value.evaluation_periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  ok_actions          = [aws_sns_topic.this.arn]

  metric_query {
    id          = "rate"
    expression  = "IF(total > 0, errors / total, 0)"
    label       = each.key
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.numerator
      dimensions  = each.value.dimensions
      stat        = "Sum"
      period      = each.value.period
    }
  }

  metric_query {
    id = "total"
    metric {
      namespace   = each.value.namespace
      metric_name = each.value.denominator
      dimensions  = each.value.dimensions
      stat        = "Sum"
      period      = each.value.period
    }
  }

  tags = {
    "pci-dss" = "10.7.1"
  }
}
