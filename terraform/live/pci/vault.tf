# The vault: two or more tasks over PostgreSQL on RDS, keys from a Transit server whose
# seal is a KMS key, reached by the edge inside this VPC and by the app account's API
# stacks only through its internal endpoint service.

locals {
  vault_secrets = toset([
    "database-url", "test-credential", "live-credential", "fingerprint-key", "key-hash-secret",
    "network-credential", "transit-token", "tls", "edge-credential", "fraud-public-key",
  ])
}

# Values are put by the security team (docs/operations.md), never by Terraform: no secret
# is in the state file.
resource "aws_secretsmanager_secret" "vault" {
  #checkov:skip=CKV2_AWS_57:the vault's secrets rotate by the signed-command procedure of docs/operations.md, which a Lambda cannot run
  for_each   = local.vault_secrets
  provider   = aws.pci
  name       = "strongroom/vault/${each.value}"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "3.6.1 8.3.2"
  }
}

module "vault_db" {
  source             = "../../modules/database"
  providers          = { aws = aws.pci }
  name               = "vault"
  database_name      = "vault"
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["vault_db"].id]
  kms_key_arn        = module.data_key.arn
  pci_dss            = "3.5.1 3.6.1 10.5.1"
}

module "vault_link" {
  source                 = "../../modules/privatelink_service"
  providers              = { aws = aws.pci }
  name                   = "vault-internal"
  vpc_id                 = module.network.vpc_id
  subnet_ids             = module.network.private_subnet_ids
  security_group_ids     = [aws_security_group.this["vault_link"].id]
  port                   = local.ports.vault
  consumer_principal_arn = var.app_consumer_role_arn
  accepted_endpoint_ids  = var.accepted_vault_endpoint_ids
}

data "aws_iam_policy_document" "vault_task" {
  provider = aws.pci

  statement {
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.audit.arn]
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.audit.arn]
    }
  }

  # The shipper (a process of the vault's task) reads the archive directory only.
  statement {
    actions   = ["elasticfilesystem:ClientMount"]
    resources = [aws_efs_file_system.audit.arn]
    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.audit_archive.arn]
    }
  }

  # The shipper appends the vault's audit records to the archive, and reads back what is
  # under its keys (HeadObject: each record is created once, and a different one under its
  # key is an alarm); it can neither list, replace nor delete them.
  statement {
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${module.audit_archive.arn}/${local.audit_prefix}*"]
  }
  statement {
    actions   = ["kms:GenerateDataKey", "kms:Encrypt"]
    resources = [module.audit_key.arn]
  }
}

# The audit log is a file every vault task appends to under an exclusive flock, hash-
# chained and anchored in the database (docs/vault.md): one EFS file system shared by the
# tasks, encrypted under the data key, in every zone (PCI DSS 10.3.2, 10.5.1).
resource "aws_efs_file_system" "audit" {
  provider         = aws.pci
  encrypted        = true
  kms_key_id       = module.data_key.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  tags = {
    Name      = "vault-audit"
    "pci-dss" = "10.3.2 10.5.1"
    backup    = "strongroom"
  }
}

resource "aws_efs_mount_target" "audit" {
  count           = length(var.availability_zones)
  provider        = aws.pci
  file_system_id  = aws_efs_file_system.audit.id
  subnet_id       = module.network.private_subnet_ids[count.index]
  security_groups = [aws_security_group.this["audit_volume"].id]
}

resource "aws_efs_access_point" "audit" {
  provider       = aws.pci
  file_system_id = aws_efs_file_system.audit.id

  posix_user {
    uid = 10001
    gid = 10001
  }

  root_directory {
    path = "/vault"
    creation_info {
      owner_uid   = 10001
      owner_gid   = 10001
      permissions = "0700"
    }
  }

  tags = {
    "pci-dss" = "7.2.1 10.3.2"
  }
}

# The archive directory alone, for the shipper: not the vault's directory beside it, where
# its checkpoint signing key is (docs/vault.md, "The audit archive").
resource "aws_efs_access_point" "audit_archive" {
  provider       = aws.pci
  file_system_id = aws_efs_file_system.audit.id

  posix_user {
    uid = 10001
    gid = 10001
  }

  root_directory {
    path = "/vault/audit-archive" # VAULT_DATA_DIR/audit-archive, the vault's archive_dir
    creation_info {
      owner_uid   = 10001
      owner_gid   = 10001
      permissions = "0700"
    }
  }

  tags = {
    "pci-dss" = "7.2.1 10.3.2"
  }
}

variable "audit_checkpoint_public_key" {
  description = "The vault's audit checkpoint public key (base64), the copy the security team holds (docs/operations.md): the shipper uploads only what verifies under it. Null until the vault's first start has made it; no shipper runs until it is set."
  type        = string
  default     = null
}

locals {
  audit_prefix      = "services/vault/" # under the bucket policy's services/*, for writers
  audit_archive_dir = "/var/lib/strongroom-archive"
  # `strongroom audit ship`: each closed segment and checkpoint of the archive, verified,
  # into the Object Lock bucket once a minute (docs/operations.md, "The audit archive").
  audit_shipper = {
    name    = "audit-shipper"
    command = ["strongroom", "audit", "ship", "--every", "60"]
    environment = {
      STRONGROOM_AUDIT_ARCHIVE_DIR = local.audit_archive_dir
      STRONGROOM_AUDIT_PUBLIC_KEY  = var.audit_checkpoint_public_key
      STRONGROOM_AUDIT_BUCKET      = module.audit_archive.bucket
      STRONGROOM_AUDIT_PREFIX      = local.audit_prefix
      AWS_REGION                   = data.aws_region.current.region
    }
    volume = {
      access_point_id = aws_efs_access_point.audit_archive.id
      path            = local.audit_archive_dir
    }
  }
}

module "vault" {
  source                = "../../modules/service"
  providers             = { aws = aws.pci }
  name                  = "vault"
  image                 = var.image
  command               = ["vault"]
  port                  = local.ports.vault
  metrics_port          = local.ports.metrics
  collector_image       = var.collector_image
  cluster_arn           = aws_ecs_cluster.this.arn
  cluster_name          = aws_ecs_cluster.this.name
  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [aws_security_group.this["vault"].id]
  target_group_arns     = [module.vault_link.target_group_arn]
  discovery_service_arn = aws_service_discovery_service.vault.arn
  kms_key_arn           = module.data_key.arn
  task_policy_json      = data.aws_iam_policy_document.vault_task.json
  min_tasks             = 2
  max_tasks             = 10

  shared_volume = {
    file_system_id  = aws_efs_file_system.audit.id
    access_point_id = aws_efs_access_point.audit.id
    path            = "/var/lib/strongroom"
  }
  sidecar = var.audit_checkpoint_public_key == null ? null : local.audit_shipper
  pci_dss = "3.4.1 3.5.1 3.6.1 10.2.1 10.5.1"

  environment = {
    VAULT_HOST          = "0.0.0.0"
    VAULT_PORT          = tostring(local.ports.vault)
    VAULT_METRICS_PORT  = tostring(local.ports.metrics)
    VAULT_DATA_DIR      = "/var/lib/strongroom" # the audit log, on the shared volume
    VAULT_KEY_PROVIDER  = "transit"
    VAULT_TRANSIT_URL   = "https://transit.pci.strongroom.internal:${local.ports.transit}"
    VAULT_TLS_CERT_FILE = "/tmp/secrets/tls.crt"
    VAULT_TLS_KEY_FILE  = "/tmp/secrets/tls.key"
    # The internal CA signs Transit's certificate: the vault verifies it against this file
    # alone (nothing from the environment). The entrypoint writes it from VAULT_TRANSIT_CA_PEM.
    VAULT_TRANSIT_CA_FILE = "/tmp/secrets/transit-ca.crt"
    # Live charges go here; without it the vault calls its default, 127.0.0.1:8086.
    VAULT_NETWORK_URL = var.card_network_url
    VAULT_ENVIRONMENT = var.environment
    # The edge's tasks take any address of its subnets: X-Forwarded-For is believed from
    # there only, and only with the edge's credential (VAULT_EDGE_CREDENTIAL), for the
    # pacing of tokenisation (docs/vault.md, "Pacing").
    VAULT_TRUSTED_PROXIES = join(",", module.network.private_subnet_cidrs)
  }
  secrets = {
    VAULT_DATABASE_URL       = aws_secretsmanager_secret.vault["database-url"].arn
    VAULT_TEST_CREDENTIAL    = aws_secretsmanager_secret.vault["test-credential"].arn
    VAULT_LIVE_CREDENTIAL    = aws_secretsmanager_secret.vault["live-credential"].arn
    VAULT_FINGERPRINT_KEY    = aws_secretsmanager_secret.vault["fingerprint-key"].arn
    VAULT_KEY_HASH_SECRET    = aws_secretsmanager_secret.vault["key-hash-secret"].arn
    VAULT_NETWORK_CREDENTIAL = aws_secretsmanager_secret.vault["network-credential"].arn
    VAULT_TRANSIT_TOKEN      = aws_secretsmanager_secret.vault["transit-token"].arn
    VAULT_EDGE_CREDENTIAL    = aws_secretsmanager_secret.vault["edge-credential"].arn
    # Required: without it the vault does not start. Public, but it changes with fraud's
    # signing key by the rotation procedure (docs/operations.md), so it is a secret too.
    VAULT_FRAUD_PUBLIC_KEY = aws_secretsmanager_secret.vault["fraud-public-key"].arn
    VAULT_TRANSIT_CA_PEM   = aws_secretsmanager_secret.internal_ca.arn
    VAULT_TLS_CERT_PEM     = "${aws_secretsmanager_secret.vault["tls"].arn}:cert::"
    VAULT_TLS_KEY_PEM      = "${aws_secretsmanager_secret.vault["tls"].arn}:key::"
  }
}

# Transit: OpenBao over its own PostgreSQL, sealed by the master KMS key, so the master
# key never leaves KMS and OpenBao unseals itself after a restart (PCI DSS 3.6.1, 3.7.1).
module "transit_db" {
  source             = "../../modules/database"
  providers          = { aws = aws.pci }
  name               = "transit"
  database_name      = "openbao"
  instance_class     = "db.m7g.large"
  allocated_storage  = 20
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["transit_db"].id]
  kms_key_arn        = module.data_key.arn
  pci_dss            = "3.5.1 3.6.1"
}

resource "aws_secretsmanager_secret" "transit" {
  #checkov:skip=CKV2_AWS_57:the storage URL follows the database's master secret, rotated by RDS
  for_each   = toset(["storage-url", "tls"])
  provider   = aws.pci
  name       = "strongroom/transit/${each.value}"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "3.6.1"
  }
}

locals {
  transit_config_file = "/tmp/openbao/config.json"
  # This task's own address, resolved by OpenBao at start (go-sockaddr): a standby forwards
  # what it is asked to the active node over the cluster port (transit-to-transit), else it
  # answers every request the vault sends it with an error, and the vault refuses the card.
  transit_self = "{{ GetPrivateInterfaces | include \"type\" \"IPv4\" | limit 1 | attr \"address\" }}"
  transit_config = {
    storage = { postgresql = { ha_enabled = "true" } } # connection_url: BAO_PG_CONNECTION_URL
    listener = [{ tcp = {
      address         = "0.0.0.0:${local.ports.transit}"
      cluster_address = "0.0.0.0:${local.ports.transit_cluster}"
      tls_cert_file   = "/tmp/secrets/tls.crt"
      tls_key_file    = "/tmp/secrets/tls.key"
      tls_min_version = "tls12"
    } }]
    seal         = { awskms = { kms_key_id = module.master_key.key_id, region = data.aws_region.current.region } }
    api_addr     = "https://${local.transit_self}:${local.ports.transit}"
    cluster_addr = "https://${local.transit_self}:${local.ports.transit_cluster}"
  }
}

data "aws_iam_policy_document" "transit_task" {
  provider = aws.pci

  statement {
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]
    resources = [module.master_key.arn]
  }
}

module "transit" {
  source                = "../../modules/service"
  providers             = { aws = aws.pci }
  name                  = "transit"
  image                 = var.transit_image
  command               = ["server", "-config=${local.transit_config_file}"]
  port                  = local.ports.transit
  cluster_arn           = aws_ecs_cluster.this.arn
  cluster_name          = aws_ecs_cluster.this.name
  subnet_ids            = module.network.private_subnet_ids
  security_group_ids    = [aws_security_group.this["transit"].id]
  discovery_service_arn = aws_service_discovery_service.transit.arn
  kms_key_arn           = module.data_key.arn
  task_policy_json      = data.aws_iam_policy_document.transit_task.json
  min_tasks             = 2
  max_tasks             = 3
  pci_dss               = "3.6.1 3.7.1"

  # OpenBao's own entrypoint writes BAO_LOCAL_CONFIG into /openbao/config and runs setcap
  # and chown, under `set -e`: on the read-only root, as user 10001 without capabilities,
  # each stops the task. So they are skipped, and Strongroom's entrypoint writes the config
  # to /tmp (X_PEM to X_FILE), which `server` reads as a second -config.
  environment = {
    SKIP_SETCAP                    = "true"
    SKIP_CHOWN                     = "true"
    STRONGROOM_TRANSIT_CONFIG_FILE = local.transit_config_file
    STRONGROOM_TRANSIT_CONFIG_PEM  = jsonencode(local.transit_config)
    BAO_TLS_CERT_FILE              = "/tmp/secrets/tls.crt"
    BAO_TLS_KEY_FILE               = "/tmp/secrets/tls.key"
  }
  secrets = {
    BAO_PG_CONNECTION_URL = aws_secretsmanager_secret.transit["storage-url"].arn
    BAO_TLS_CERT_PEM      = "${aws_secretsmanager_secret.transit["tls"].arn}:cert::"
    BAO_TLS_KEY_PEM       = "${aws_secretsmanager_secret.transit["tls"].arn}:key::"
  }
}
