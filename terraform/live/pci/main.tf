# The PCI account: the one public entry (load balancer, WAF, edge), the vault and its
# master keys, the audit archive. Only the security team enters it (pci-operator,
# security-auditor). Reading order: main.tf (keys, network, cluster), flows.tf (every
# allowed connection), edge.tf, vault.tf, audit.tf, backup.tf, alarms.tf.

data "aws_caller_identity" "current" {
  provider = aws.pci
}

data "aws_region" "current" {
  provider = aws.pci
}

# Card data, its database, the services' logs and secrets.
module "data_key" {
  source      = "../../modules/kms_key"
  providers   = { aws = aws.pci }
  name        = "pci-data"
  description = "Strongroom PCI zone: vault database, secrets, logs, backups"
  user_arns   = [module.vault.task_role_arn, module.edge.task_role_arn, module.transit.task_role_arn]
  service_principals = [
    "logs.${data.aws_region.current.region}.amazonaws.com", "backup.amazonaws.com", "sns.amazonaws.com",
  ]
}

# The root of the vault's key hierarchy: OpenBao's seal is wrapped by this key, Transit
# wraps the vault's data keys (PCI DSS 3.6.1, 3.7.1). Only the Transit tasks use it.
module "master_key" {
  source      = "../../modules/kms_key"
  providers   = { aws = aws.pci }
  name        = "vault-master"
  description = "Strongroom vault: unseals the Transit server holding the master key"
  user_arns   = [module.transit.task_role_arn]
}

# The audit archive and CloudTrail, readable by the security team alone.
module "audit_key" {
  source             = "../../modules/kms_key"
  providers          = { aws = aws.pci }
  name               = "audit"
  description        = "Strongroom audit archive and CloudTrail"
  user_arns          = [module.auditor.arn, module.vault.task_role_arn]
  service_principals = ["cloudtrail.amazonaws.com", "logs.${data.aws_region.current.region}.amazonaws.com", "sns.amazonaws.com"]
}

module "network" {
  source             = "../../modules/network"
  providers          = { aws = aws.pci }
  name               = "pci"
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  public_subnets     = true
  kms_key_arn        = module.data_key.arn
}

module "access_logs" {
  source    = "../../modules/log_bucket"
  providers = { aws = aws.pci }
  name      = "strongroom-pci-access-logs-${data.aws_caller_identity.current.account_id}"
}

resource "aws_ecs_cluster" "this" {
  provider = aws.pci
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
  provider             = aws.pci
  name                 = "strongroom"
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true # PCI DSS 6.3.1: known vulnerabilities found before deploy
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.data_key.arn
  }

  tags = {
    "pci-dss" = "6.3.1 6.3.3"
  }
}

# Edge to vault inside the VPC, by name: vault.pci.strongroom.internal.
resource "aws_service_discovery_private_dns_namespace" "this" {
  provider = aws.pci
  name     = "pci.strongroom.internal"
  vpc      = module.network.vpc_id

  tags = {
    "pci-dss" = "1.3.1"
  }
}

resource "aws_service_discovery_service" "vault" {
  provider = aws.pci
  name     = "vault"

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

resource "aws_service_discovery_service" "transit" {
  provider = aws.pci
  name     = "transit"

  dns_config {
    namespace_id = aws_service_discovery_private_dns_namespace.this.id
    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  tags = {
    "pci-dss" = "1.3.1 3.6.1"
  }
}
