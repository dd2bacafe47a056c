# The PCI account's alarms (what each means: docs/operations.md). Service metrics come from
# each task's /metrics through the collector sidecar, in the Strongroom namespace.
module "alarms" {
  source      = "../../modules/alarms"
  providers   = { aws = aws.pci }
  topic_name  = "strongroom-pci-alarms"
  kms_key_arn = module.data_key.arn
  emails      = var.alarm_emails

  rate_alarms = {
    "edge-5xx-rate" = {
      description = "More than 1% of the load balancer's answers are 5xx for 10 minutes."
      namespace   = "AWS/ApplicationELB"
      numerator   = "HTTPCode_Target_5XX_Count"
      denominator = "RequestCount"
      dimensions  = { LoadBalancer = module.load_balancer.arn_suffix }
      threshold   = 0.01
    }
  }

  alarms = {
    "edge-p99-latency" = {
      description        = "The 99th percentile of answers through the load balancer is over 1 s for 10 minutes."
      namespace          = "AWS/ApplicationELB"
      metric_name        = "TargetResponseTime"
      dimensions         = { LoadBalancer = module.load_balancer.arn_suffix }
      extended_statistic = "p99"
      threshold          = 1
      period             = 300
      evaluation_periods = 2
    }
    "vault-audit-write-failures" = {
      description = "The vault failed to write an audit record and refused the operation (PCI DSS 10.7.1)."
      namespace   = "Strongroom"
      metric_name = "vault_audit_write_failures_total"
      dimensions  = { job = "vault" }
      statistic   = "Sum"
      threshold   = 0
    }
    "vault-sealed" = {
      description        = "A vault task is sealed: it serves nothing until custodians unseal it."
      namespace          = "Strongroom"
      metric_name        = "vault_sealed"
      dimensions         = { job = "vault" }
      threshold          = 0
      evaluation_periods = 2
    }
    "vault-spend-cap-reached" = {
      description = "Live charges were refused because a marketplace or the global spend cap was reached."
      namespace   = "Strongroom"
      metric_name = "vault_spend_cap_refusals_total"
      dimensions  = { job = "vault" }
      statistic   = "Sum"
      threshold   = 0
    }
    "vault-tasks-below-two" = {
      description        = "Fewer than two vault tasks are running."
      namespace          = "ECS/ContainerInsights"
      metric_name        = "RunningTaskCount"
      dimensions         = { ClusterName = aws_ecs_cluster.this.name, ServiceName = module.vault.name }
      statistic          = "Minimum"
      comparison         = "LessThanThreshold"
      threshold          = 2
      evaluation_periods = 3
      treat_missing_data = "breaching"
    }
  }
}
