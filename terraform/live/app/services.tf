# Router, the two API stacks and fraud: two tasks at least each, scaling on CPU, the
# router also on its queue depth and the API on its webhook backlog.

locals {
  api_secrets   = toset(["database-url", "key-hash-secret", "vault-credential", "fraud-credential", "tls"])
  fraud_secrets = toset(["counters-url", "database-url", "test-credential", "live-credential", "signing-key", "tls"])
}

# Values are put by operators (docs/operations.md), never by Terraform.
resource "aws_secretsmanager_secret" "api" {
  #checkov:skip=CKV2_AWS_57:stack credentials rotate with the vault's by the procedure of docs/operations.md, not by a Lambda
  for_each = {
    for pair in setproduct(local.stacks, local.api_secrets) : "${pair[0]}/${pair[1]}" => pair
  }
  provider   = aws.app
  name       = "strongroom/api-${each.value[0]}/${each.value[1]}"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "8.3.2 8.6.3"
  }
}

resource "aws_secretsmanager_secret" "fraud" {
  #checkov:skip=CKV2_AWS_57:fraud's signing key rotates with the vault's public key by the procedure of docs/operations.md
  for_each   = local.fraud_secrets
  provider   = aws.app
  name       = "strongroom/fraud/${each.value}"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "8.3.2 8.6.3"
  }
}

module "api_db" {
  for_each           = local.stacks
  source             = "../../modules/database"
  providers          = { aws = aws.app }
  name               = "api-${each.value}"
  database_name      = "api"
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["api_${each.value}_db"].id]
  kms_key_arn        = module.data_key.arn
  pci_dss            = "3.5.1 10.5.1"
}

# Fraud's rules, value lists and decisions. Without a database URL each fraud task kept
# them in its own SQLite file on its tmpfs: a rule made through one task unknown to the
# others, every one lost at the next deploy.
module "fraud_db" {
  source             = "../../modules/database"
  providers          = { aws = aws.app }
  name               = "fraud"
  database_name      = "fraud"
  allocated_storage  = 20
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["fraud_db"].id]
  kms_key_arn        = module.data_key.arn
  pci_dss            = "3.5.1 10.5.1"
}

module "redis" {
  source = "../../modules/cache"
  # Naming any provider ends implicit inheritance: random is passed on by name too.
  providers          = { aws = aws.app, random = random }
  name               = "strongroom-fraud"
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["redis"].id]
  kms_key_arn        = module.data_key.arn
}

module "router" {
  source             = "../../modules/service"
  providers          = { aws = aws.app }
  name               = "router"
  image              = var.image
  command            = ["router"]
  port               = local.ports.router
  metrics_port       = local.ports.metrics
  collector_image    = var.collector_image
  cluster_arn        = aws_ecs_cluster.this.arn
  cluster_name       = aws_ecs_cluster.this.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["router"].id]
  target_group_arns  = [module.router_link.target_group_arn]
  kms_key_arn        = module.data_key.arn
  min_tasks          = 2
  max_tasks          = 20
  pci_dss            = "1.3.1"

  custom_scaling = {
    queue-depth = { metric_name = "router_queue_depth", target = 16 }
  }

  environment = {
    ROUTER_HOST          = "0.0.0.0"
    ROUTER_PORT          = tostring(local.ports.router)
    ROUTER_METRICS_PORT  = tostring(local.ports.metrics)
    ROUTER_TEST_URL      = "https://api-test.app.strongroom.internal:${local.ports.api}"
    ROUTER_LIVE_URL      = "https://api-live.app.strongroom.internal:${local.ports.api}"
    ROUTER_TLS_CERT_FILE = "/tmp/secrets/tls.crt"
    ROUTER_TLS_KEY_FILE  = "/tmp/secrets/tls.key"
    ROUTER_TEST_CA_FILE  = "/tmp/secrets/app-ca.crt"
    ROUTER_LIVE_CA_FILE  = "/tmp/secrets/app-ca.crt"
  }
  secrets = {
    ROUTER_TLS_CERT_PEM = "${aws_secretsmanager_secret.router_tls.arn}:cert::"
    ROUTER_TLS_KEY_PEM  = "${aws_secretsmanager_secret.router_tls.arn}:key::"
    ROUTER_TEST_CA_PEM  = aws_secretsmanager_secret.internal_ca["app"].arn
    ROUTER_LIVE_CA_PEM  = aws_secretsmanager_secret.internal_ca["app"].arn
  }
}

module "api" {
  for_each              = local.stacks
  source                = "../../modules/service"
  providers             = { aws = aws.app }
  name                  = "api-${each.value}"
  image                 = var.image
  command               = ["api"]
  port                  = local.ports.api
  metrics_port          = local.ports.metrics
  collector_image       = var.collector_image
  cluster_arn           = aws_ecs_cluster.this.arn
  cluster_name          = aws_ecs_cluster.this.name
  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [aws_security_group.this["api_${each.value}"].id]
  discovery_service_arn = aws_service_discovery_service.this["api-${each.value}"].arn
  kms_key_arn           = module.data_key.arn
  min_tasks             = 2
  max_tasks             = each.value == "live" ? 20 : 6
  pci_dss               = "3.5.1 6.4.1"

  custom_scaling = {
    webhook-backlog = { metric_name = "api_webhook_backlog", target = 200 }
  }

  environment = {
    API_HOST          = "0.0.0.0"
    API_PORT          = tostring(local.ports.api)
    API_METRICS_PORT  = tostring(local.ports.metrics)
    API_MODE          = each.value
    API_VAULT_URL     = "https://${try(module.vault_link[0].dns_name, "vault.unlinked.invalid")}"
    API_FRAUD_URL     = "https://fraud.app.strongroom.internal:${local.ports.fraud}"
    API_TLS_CERT_FILE = "/tmp/secrets/tls.crt"
    API_TLS_KEY_FILE  = "/tmp/secrets/tls.key"
    API_VAULT_CA_FILE = "/tmp/secrets/pci-ca.crt"
    API_FRAUD_CA_FILE = "/tmp/secrets/app-ca.crt"
  }
  secrets = {
    API_DATABASE_URL     = aws_secretsmanager_secret.api["${each.value}/database-url"].arn
    API_KEY_HASH_SECRET  = aws_secretsmanager_secret.api["${each.value}/key-hash-secret"].arn
    API_VAULT_CREDENTIAL = aws_secretsmanager_secret.api["${each.value}/vault-credential"].arn
    API_FRAUD_CREDENTIAL = aws_secretsmanager_secret.api["${each.value}/fraud-credential"].arn
    API_TLS_CERT_PEM     = "${aws_secretsmanager_secret.api["${each.value}/tls"].arn}:cert::"
    API_TLS_KEY_PEM      = "${aws_secretsmanager_secret.api["${each.value}/tls"].arn}:key::"
    API_VAULT_CA_PEM     = aws_secretsmanager_secret.internal_ca["pci"].arn
    API_FRAUD_CA_PEM     = aws_secretsmanager_secret.internal_ca["app"].arn
  }
}

module "fraud" {
  source                = "../../modules/service"
  providers             = { aws = aws.app }
  name                  = "fraud"
  image                 = var.image
  command               = ["fraud"]
  port                  = local.ports.fraud
  metrics_port          = local.ports.metrics
  collector_image       = var.collector_image
  cluster_arn           = aws_ecs_cluster.this.arn
  cluster_name          = aws_ecs_cluster.this.name
  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [aws_security_group.this["fraud"].id]
  discovery_service_arn = aws_service_discovery_service.this["fraud"].arn
  kms_key_arn           = module.data_key.arn
  min_tasks             = 2
  max_tasks             = 10
  pci_dss               = "6.4.1"

  environment = {
    FRAUD_HOST          = "0.0.0.0"
    FRAUD_PORT          = tostring(local.ports.fraud)
    FRAUD_METRICS_PORT  = tostring(local.ports.metrics)
    FRAUD_TLS_CERT_FILE = "/tmp/secrets/tls.crt"
    FRAUD_TLS_KEY_FILE  = "/tmp/secrets/tls.key"
  }
  secrets = {
    FRAUD_COUNTERS_URL    = aws_secretsmanager_secret.fraud["counters-url"].arn
    FRAUD_DATABASE_URL    = aws_secretsmanager_secret.fraud["database-url"].arn
    FRAUD_TEST_CREDENTIAL = aws_secretsmanager_secret.fraud["test-credential"].arn
    FRAUD_LIVE_CREDENTIAL = aws_secretsmanager_secret.fraud["live-credential"].arn
    FRAUD_SIGNING_KEY     = aws_secretsmanager_secret.fraud["signing-key"].arn
    FRAUD_TLS_CERT_PEM    = "${aws_secretsmanager_secret.fraud["tls"].arn}:cert::"
    FRAUD_TLS_KEY_PEM     = "${aws_secretsmanager_secret.fraud["tls"].arn}:key::"
  }
}

# The CA certificates the app's clients verify their upstreams against (*_CA_FILE): the
# app account's internal CA (router -> API, API -> fraud) and the PCI account's (API -> vault).
resource "aws_secretsmanager_secret" "internal_ca" {
  #checkov:skip=CKV2_AWS_57:CA certificates are public; they are replaced by the procedure in docs/operations.md
  for_each   = toset(["app", "pci"])
  provider   = aws.app
  name       = "strongroom/internal-ca/${each.value}"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "4.2.1"
  }
}

resource "aws_secretsmanager_secret" "router_tls" {
  #checkov:skip=CKV2_AWS_57:certificates are renewed by the procedure in docs/operations.md, not by a rotation Lambda
  provider   = aws.app
  name       = "strongroom/router/tls"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "4.2.1"
  }
}
