# The public side: TLS load balancer with WAF, the edge behind it (it also serves the JS
# bundle on the js host), and the edge's one way into the app account: the router's
# endpoint.

module "load_balancer" {
  source             = "../../modules/tls_load_balancer"
  providers          = { aws = aws.pci }
  name               = "strongroom"
  domain_names       = [var.api_host, var.js_host]
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.public_subnet_ids
  security_group_ids = [aws_security_group.this["lb"].id]
  edge_port          = local.ports.edge
  access_log_bucket  = module.access_logs.bucket
  web_acl_arn        = module.waf.web_acl_arn
  idle_timeout       = local.lb_idle_timeout
}

module "waf" {
  source        = "../../modules/waf"
  providers     = { aws = aws.pci }
  name          = "strongroom"
  blocked_cidrs = var.blocked_cidrs
  kms_key_arn   = module.data_key.arn
}

# Created once live/app has offered the router (docs/operations.md, first deploy).
module "router_link" {
  count              = var.router_service_name == null ? 0 : 1
  source             = "../../modules/privatelink_consumer"
  providers          = { aws = aws.pci }
  name               = "router"
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["router_link"].id]
  service_name       = var.router_service_name
}

# The CA that signs the internal certificates (vault, router): what the edge's clients
# verify them against (EDGE_*_CA_FILE), not the system's CAs.
resource "aws_secretsmanager_secret" "internal_ca" {
  #checkov:skip=CKV2_AWS_57:a CA certificate is public; it is replaced by the procedure in docs/operations.md
  provider   = aws.pci
  name       = "strongroom/internal-ca"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "4.2.1"
  }
}

resource "aws_secretsmanager_secret" "edge_tls" {
  #checkov:skip=CKV2_AWS_57:certificates are renewed by the procedure in docs/operations.md, not by a rotation Lambda
  provider   = aws.pci
  name       = "strongroom/edge/tls"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "4.2.1"
  }
}

# The edge's credential to the vault: its X-Forwarded-For is believed only with it. Its
# own secret, apart from the vault's edge-credential, so that the vault can take a new and
# an old value while it is rotated (docs/operations.md, "Rotation").
resource "aws_secretsmanager_secret" "edge_vault_credential" {
  #checkov:skip=CKV2_AWS_57:rotated with the vault's edge-credential by the procedure in docs/operations.md, which a Lambda cannot run
  provider   = aws.pci
  name       = "strongroom/edge/vault-credential"
  kms_key_id = module.data_key.arn

  tags = {
    "pci-dss" = "8.3.2"
  }
}

module "edge" {
  source             = "../../modules/service"
  providers          = { aws = aws.pci }
  name               = "edge"
  image              = var.image
  command            = ["edge_proxy"]
  port               = local.ports.edge
  metrics_port       = local.ports.metrics
  collector_image    = var.collector_image
  cluster_arn        = aws_ecs_cluster.this.arn
  cluster_name       = aws_ecs_cluster.this.name
  subnet_ids         = module.network.private_subnet_ids
  security_group_ids = [aws_security_group.this["edge"].id]
  target_group_arns  = [module.load_balancer.target_group_arn]
  kms_key_arn        = module.data_key.arn
  min_tasks          = 2
  max_tasks          = 20
  pci_dss            = "1.4.1 4.2.1 6.4.2"

  environment = {
    EDGE_HOST         = "0.0.0.0"
    EDGE_PORT         = tostring(local.ports.edge)
    EDGE_METRICS_PORT = tostring(local.ports.metrics)
    EDGE_API_HOSTS    = var.api_host
    EDGE_JS_HOSTS     = var.js_host
    # The CSP connect-src of the js host's hosted fields page: unset, it is
    # http://<api host>:<EDGE_PORT>, and the page could not call the public API at all.
    EDGE_API_ORIGINS    = "https://${var.api_host}"
    EDGE_VAULT_URL      = "https://vault.pci.strongroom.internal:${local.ports.vault}"
    EDGE_ROUTER_URL     = "https://${try(module.router_link[0].dns_name, "router.unlinked.invalid")}"
    EDGE_TLS_CERT_FILE  = "/tmp/secrets/tls.crt"
    EDGE_TLS_KEY_FILE   = "/tmp/secrets/tls.key"
    EDGE_VAULT_CA_FILE  = "/tmp/secrets/vault-ca.crt"
    EDGE_ROUTER_CA_FILE = "/tmp/secrets/router-ca.crt"
    # Every connection comes from the load balancer's nodes, in the public subnets: the
    # shopper is the last X-Forwarded-For entry it appends (what the vault paces
    # tokenising by), and its connections are not capped as one client's.
    EDGE_TRUSTED_PROXIES = join(",", module.network.public_subnet_cidrs)
    # Longer than the load balancer's idle timeout: it closes an idle connection first.
    EDGE_KEEPALIVE_TIMEOUT = tostring(local.lb_idle_timeout + 15)
  }
  # ECS hands secrets over as variables; the image's entrypoint writes each *_PEM to the
  # path its *_FILE names, on the task's tmpfs, and unsets it.
  secrets = {
    EDGE_TLS_CERT_PEM = "${aws_secretsmanager_secret.edge_tls.arn}:cert::"
    EDGE_TLS_KEY_PEM  = "${aws_secretsmanager_secret.edge_tls.arn}:key::"
    # The app account's internal CA signs the router's certificate: the security team puts
    # its certificate here too (docs/operations.md, "TLS").
    EDGE_VAULT_CA_PEM  = aws_secretsmanager_secret.internal_ca.arn
    EDGE_ROUTER_CA_PEM = aws_secretsmanager_secret.internal_ca.arn
    # What the edge proves itself to the vault with (docs/operations.md, "Who the vault
    # believes"): the vault's edge-credential holds the same value.
    EDGE_VAULT_CREDENTIAL = aws_secretsmanager_secret.edge_vault_credential.arn
  }
}
