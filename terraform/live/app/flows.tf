# Every connection allowed in the app account, in one table, by security group. Nothing
# comes in from the internet: the router is reached only through its endpoint service.

locals {
  flows = {
    "router-link-to-router"   = { from = "router_link", to = "router", port = local.ports.router }
    "router-to-api-test"      = { from = "router", to = "api_test", port = local.ports.api }
    "router-to-api-live"      = { from = "router", to = "api_live", port = local.ports.api }
    "api-test-to-fraud"       = { from = "api_test", to = "fraud", port = local.ports.fraud }
    "api-live-to-fraud"       = { from = "api_live", to = "fraud", port = local.ports.fraud }
    "api-test-to-vault-link"  = { from = "api_test", to = "vault_link", port = 443 }
    "api-live-to-vault-link"  = { from = "api_live", to = "vault_link", port = 443 }
    "api-test-to-api-test-db" = { from = "api_test", to = "api_test_db", port = 5432 }
    "api-live-to-api-live-db" = { from = "api_live", to = "api_live_db", port = 5432 }
    "fraud-to-fraud-db"       = { from = "fraud", to = "fraud_db", port = 5432 }
    "fraud-to-redis"          = { from = "fraud", to = "redis", port = 6379 }
    "router-to-aws-apis"      = { from = "router", to = "aws_apis", port = 443 }
    "api-test-to-aws-apis"    = { from = "api_test", to = "aws_apis", port = 443 }
    "api-live-to-aws-apis"    = { from = "api_live", to = "aws_apis", port = 443 }
    "fraud-to-aws-apis"       = { from = "fraud", to = "aws_apis", port = 443 }
  }

  group_purposes = {
    router_link = "The router's endpoint service (the PCI account's edge comes in here)"
    router      = "Router tasks"
    api_test    = "Test API stack tasks"
    api_live    = "Live API stack tasks"
    fraud       = "Fraud tasks"
    vault_link  = "Endpoint to the PCI account's vault (internal port)"
    api_test_db = "The test stack's PostgreSQL"
    api_live_db = "The live stack's PostgreSQL"
    fraud_db    = "Fraud's PostgreSQL (rules, lists, decisions)"
    redis       = "Fraud's Redis"
  }

  groups = merge(
    { for name, group in aws_security_group.this : name => group.id },
    { aws_apis = module.network.endpoints_security_group_id },
  )
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:each group is attached by the module named in group_purposes; the check cannot follow for_each into modules
  for_each    = local.group_purposes
  provider    = aws.app
  name        = "app-${replace(each.key, "_", "-")}"
  description = each.value
  vpc_id      = module.network.vpc_id

  tags = {
    "pci-dss" = "1.2.1 1.3.1"
  }
}

resource "aws_vpc_security_group_ingress_rule" "flow" {
  for_each                     = local.flows
  provider                     = aws.app
  description                  = each.key
  security_group_id            = local.groups[each.value.to]
  referenced_security_group_id = local.groups[each.value.from]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

resource "aws_vpc_security_group_egress_rule" "flow" {
  for_each                     = local.flows
  provider                     = aws.app
  description                  = each.key
  security_group_id            = local.groups[each.value.from]
  referenced_security_group_id = local.groups[each.value.to]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

# Webhooks go to merchants' own HTTPS endpoints, wherever they are.
resource "aws_vpc_security_group_egress_rule" "api_webhooks" {
  for_each          = toset(["api_test", "api_live"])
  provider          = aws.app
  description       = "Webhook deliveries (HTTPS)"
  security_group_id = aws_security_group.this[each.value].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "to_s3" {
  for_each          = toset(["router", "api_test", "api_live", "fraud"])
  provider          = aws.app
  description       = "S3 through the gateway endpoint (image layers)"
  security_group_id = aws_security_group.this[each.value].id
  prefix_list_id    = module.network.s3_prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}
