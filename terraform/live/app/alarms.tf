# The app account's alarms (what each means: docs/operations.md).
module "alarms" {
  source      = "../../modules/alarms"
  providers   = { aws = aws.app }
  topic_name  = "strongroom-app-alarms"
  kms_key_arn = module.data_key.arn
  emails      = var.alarm_emails

  rate_alarms = {
    for stack in local.stacks : "api-${stack}-5xx-rate" => {
      description = "More than 1% of the ${stack} API stack's answers are 5xx for 10 minutes."
      namespace   = "Strongroom"
      # Both counted by strongroom.metrics: every answer, and the 5xx ones apart (CloudWatch
      # cannot sum http_requests_total over its status label).
      numerator   = "http_server_errors_total"
      denominator = "http_requests_total"
      dimensions  = { job = "api-${stack}" }
      threshold   = 0.01
    }
  }

  alarms = merge(
    {
      for stack in local.stacks : "api-${stack}-p99-latency" => {
        description = "The ${stack} API stack's 99th percentile answer time is over 1 s for 10 minutes."
        namespace   = "Strongroom"
        # The histogram itself: CloudWatch keeps a Prometheus histogram as a distribution
        # and computes its percentiles; no service publishes a precomputed p99.
        metric_name        = "http_request_duration_seconds"
        dimensions         = { job = "api-${stack}" }
        extended_statistic = "p99"
        threshold          = 1
        period             = 300
        evaluation_periods = 2
      }
    },
    {
      for stack in local.stacks : "api-${stack}-webhook-dead-letters" => {
        description = "Webhook deliveries of the ${stack} stack gave up after every retry."
        namespace   = "Strongroom"
        metric_name = "api_webhook_dead_letters_total"
        dimensions  = { job = "api-${stack}" }
        statistic   = "Sum"
        threshold   = 0
      }
    },
    {
      "router-queue-depth" = {
        description        = "Requests are queueing at the router faster than the API stacks take them, for 10 minutes."
        namespace          = "Strongroom"
        metric_name        = "router_queue_depth"
        dimensions         = { job = "router" }
        threshold          = 64
        period             = 300
        evaluation_periods = 2
      }
    },
  )
}
