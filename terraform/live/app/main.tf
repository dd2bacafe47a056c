# The app account: the router, the test and live API stacks, fraud, their databases and
# Redis. Developers work here and never in the PCI account; card numbers never come here.
# Reading order: main.tf, flows.tf, services.tf, links.tf, audit.tf, backup.tf, alarms.tf.

data "aws_caller_identity" "current" {
  provider = aws.app
}

data "aws_region" "current" {
  provider = aws.app
}

module "data_key" {
  source      = "../../modules/kms_key"
  providers   = { aws = aws.app }
  name        = "app-data"
  description = "Strongroom app zone: API databases, Redis, secrets, logs, backups"
  user_arns   = concat([module.router.task_role_arn, module.fraud.task_role_arn], [for stack in module.api : stack.task_role_arn])
  service_principals = [
    "logs.${data.aws_region.current.region}.amazonaws.com", "backup.amazonaws.com", "sns.amazonaws.com",
  ]
}

module "audit_key" {
  source             = "../../modules/kms_key"
  providers          = { aws = aws.app }
  name               = "audit"
  description        = "Strongroom app account's CloudTrail archive"
  user_arns          = [module.auditor.arn]
  service_principals = ["cloudtrail.amazonaws.com", "logs.${data.aws_region.current.region}.amazonaws.com", "sns.amazonaws.com"]
}

module "network" {
  source             = "../../modules/network"
  providers          = { aws = aws.app }
  name               = "app"
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  public_subnets     = true # NAT only: the API delivers webhooks to merchants
  kms_key_arn        = module.data_key.arn
}

module "access_logs" {
  source    = "../../modules/log_bucket"
  providers = { aws = aws.app }
  name      = "strongroom-app-access-logs-${data.aws_caller_identity.current.account_id}"
}

resource "aws_ecs_cluster" "this" {
  provider = aws.app
  name     = local.cluster_name

  setting {
    name  = "containerInsights"
    value = "enhanced"
  }

  tags = {
    "pci-dss" = "2.2.1 10.2.1"
  }
}

resource "aws_ecr_repository" "strongroom" {
  provider             = aws.app
  name                 = "strongroom"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.data_key.arn
  }

  tags = {
    "pci-dss" = "6.3.1 6.3.3"
  }
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  provider = aws.app
  name     = "app.strongroom.internal"
  vpc      = module.network.vpc_id

  tags = {
    "pci-dss" = "1.3.1"
  }
}

resource "aws_service_discovery_service" "this" {
  for_each = toset(["api-test", "api-live", "fraud"])
  provider = aws.app
  name     = each.value

  dns_config {
    namespace_id = aws_service_discovery_private_dns_namespace.this.id
    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = {
    "pci-dss" = "1.3.1"
  }
}
