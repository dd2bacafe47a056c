# The consuming side of a one-way link: an interface endpoint in this account's private
# subnets reaching one service of the other account, and nothing else.

resource "aws_vpc_endpoint" "this" {
  vpc_id              = var.vpc_id
  service_name        = var.service_name
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = var.security_group_ids
  private_dns_enabled = false

  tags = {
    Name      = var.name
    "pci-dss" = "1.3.1 1.3.2"
  }
}
