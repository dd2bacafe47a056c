# Every connection allowed in the PCI account, in one table. Each flow opens egress on
# its source's group and ingress on its destination's, by group, never by address
# (PCI DSS 1.2.1, 1.3.1). The one ingress from the internet is the load balancer's 443.

locals {
  flows = {
    "lb-to-edge"            = { from = "lb", to = "edge", port = local.ports.edge }
    "edge-to-vault"         = { from = "edge", to = "vault", port = local.ports.vault }
    "edge-to-router-link"   = { from = "edge", to = "router_link", port = 443 }
    "vault-link-to-vault"   = { from = "vault_link", to = "vault", port = local.ports.vault }
    "vault-to-vault-db"     = { from = "vault", to = "vault_db", port = 5432 }
    "vault-to-transit"      = { from = "vault", to = "transit", port = local.ports.transit }
    "transit-to-transit"    = { from = "transit", to = "transit", port = local.ports.transit_cluster }
    "transit-to-transit-db" = { from = "transit", to = "transit_db", port = 5432 }
    "vault-to-audit-volume" = { from = "vault", to = "audit_volume", port = 2049 }
    "edge-to-aws-apis"      = { from = "edge", to = "aws_apis", port = 443 }
    "vault-to-aws-apis"     = { from = "vault", to = "aws_apis", port = 443 }
    "transit-to-aws-apis"   = { from = "transit", to = "aws_apis", port = 443 }
  }

  group_purposes = {
    lb           = "The public load balancer"
    edge         = "Edge tasks"
    vault        = "Vault tasks"
    vault_link   = "The vault's internal endpoint service (app account's API stacks come in here)"
    router_link  = "Endpoint to the app account's router"
    transit      = "Transit (OpenBao) tasks holding the master key"
    vault_db     = "The vault's PostgreSQL"
    transit_db   = "Transit's PostgreSQL storage"
    audit_volume = "The vault's audit log volume (EFS)"
  }

  groups = merge(
    { for name, group in aws_security_group.this : name => group.id },
    { aws_apis = module.network.endpoints_security_group_id },
  )
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:each group is attached by the module named in group_purposes; the check cannot follow for_each into modules
  for_each    = local.group_purposes
  provider    = aws.pci
  name        = "pci-${replace(each.key, "_", "-")}"
  description = each.value
  vpc_id      = module.network.vpc_id

  tags = {
    "pci-dss" = "1.2.1 1.3.1"
  }
}

resource "aws_vpc_security_group_ingress_rule" "flow" {
  for_each                     = local.flows
  provider                     = aws.pci
  description                  = each.key
  security_group_id            = local.groups[each.value.to]
  referenced_security_group_id = local.groups[each.value.from]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

resource "aws_vpc_security_group_egress_rule" "flow" {
  for_each                     = local.flows
  provider                     = aws.pci
  description                  = each.key
  security_group_id            = local.groups[each.value.from]
  referenced_security_group_id = local.groups[each.value.to]
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

# The only ingress from the internet: HTTPS to the load balancer.
resource "aws_vpc_security_group_ingress_rule" "lb_https_from_internet" {
  #checkov:skip=CKV_AWS_260:this is the public API's load balancer; 443 from anywhere is its job, WAF filters it
  provider          = aws.pci
  description       = "HTTPS from the internet"
  security_group_id = aws_security_group.this["lb"].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

# Out of the VPC: the vault to the card network, and every task to S3 (image layers;
# the vault's audit records to the archive) through the gateway endpoint.
resource "aws_vpc_security_group_egress_rule" "vault_to_card_network" {
  for_each          = toset(var.card_network_cidrs)
  provider          = aws.pci
  description       = "Card network"
  security_group_id = aws_security_group.this["vault"].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "to_s3" {
  for_each          = toset(["edge", "vault", "transit"])
  provider          = aws.pci
  description       = "S3 through the gateway endpoint"
  security_group_id = aws_security_group.this[each.value].id
  prefix_list_id    = module.network.s3_prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}
