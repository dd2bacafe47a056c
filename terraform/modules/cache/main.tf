# Redis (Valkey) on ElastiCache for fraud's counters: TLS in transit, encryption at rest
# under a customer key, an auth token kept in Secrets Manager, a replica in another zone.

resource "random_password" "auth" {
  length  = 64
  special = false # ElastiCache accepts only some punctuation; 64 alphanumerics are plenty
}

resource "aws_secretsmanager_secret" "auth" {
  #checkov:skip=CKV2_AWS_57:the token is rotated with fraud's settings by the procedure in docs/operations.md, not by a Lambda
  name       = "strongroom/${var.name}/auth-token"
  kms_key_id = var.kms_key_arn

  tags = {
    "pci-dss" = "8.3.2 8.6.3"
  }
}

resource "aws_secretsmanager_secret_version" "auth" {
  secret_id     = aws_secretsmanager_secret.auth.id
  secret_string = random_password.auth.result
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids

  tags = {
    "pci-dss" = "1.3.1"
  }
}

resource "aws_cloudwatch_log_group" "slow" {
  name              = "/strongroom/${var.name}/slow-log"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn

  tags = {
    "pci-dss" = "10.2.1"
  }
}

resource "aws_elasticache_replication_group" "this" {
  replication_group_id = var.name
  description          = "Strongroom ${var.name}"
  engine               = "valkey"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  num_cache_clusters   = 2

  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  transit_encryption_mode    = "required"
  auth_token                 = random_password.auth.result

  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true

  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.slow.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }

  tags = {
    "pci-dss" = "3.5.1 4.2.1"
  }
}
