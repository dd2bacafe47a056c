# One VPC of a Strongroom account: private subnets for the services and data stores in
# every zone, public subnets only where a load balancer or NAT needs them, flow logs of
# every connection (PCI DSS 10.2.1), and interface endpoints so tasks reach AWS APIs
# without crossing the internet.

data "aws_region" "current" {}

locals {
  zones = length(var.availability_zones)
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name      = var.name
    "pci-dss" = "1.2.1 1.3.1"
  }
}

# Nothing may use the default security group: it allows nothing (PCI DSS 1.2.1).
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = {
    "pci-dss" = "1.2.1"
  }
}

resource "aws_subnet" "private" {
  count             = local.zones
  vpc_id            = aws_vpc.this.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, count.index)

  tags = {
    Name      = "${var.name}-private-${var.availability_zones[count.index]}"
    "pci-dss" = "1.3.1 1.4.4"
  }
}

resource "aws_subnet" "public" {
  count             = var.public_subnets ? local.zones : 0
  vpc_id            = aws_vpc.this.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 4, 8 + count.index)

  # The load balancer has its own addresses; nothing else in these subnets gets one.
  map_public_ip_on_launch = false

  tags = {
    Name      = "${var.name}-public-${var.availability_zones[count.index]}"
    "pci-dss" = "1.4.1"
  }
}

resource "aws_internet_gateway" "this" {
  count  = var.public_subnets ? 1 : 0
  vpc_id = aws_vpc.this.id

  tags = {
    "pci-dss" = "1.4.1"
  }
}

resource "aws_eip" "nat" {
  count  = var.public_subnets ? local.zones : 0
  domain = "vpc"

  tags = {
    "pci-dss" = "1.4.1"
  }
}

# Outbound only: the vault reaches the card network, the API reaches merchants' webhooks.
resource "aws_nat_gateway" "this" {
  count         = var.public_subnets ? local.zones : 0
  subnet_id     = aws_subnet.public[count.index].id
  allocation_id = aws_eip.nat[count.index].id

  tags = {
    "pci-dss" = "1.3.2"
  }
}

resource "aws_route_table" "public" {
  count  = var.public_subnets ? 1 : 0
  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = {
    "pci-dss" = "1.4.1"
  }
}

resource "aws_route_table_association" "public" {
  count          = var.public_subnets ? local.zones : 0
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count  = local.zones
  vpc_id = aws_vpc.this.id

  dynamic "route" {
    for_each = var.public_subnets ? [1] : []
    content {
      cidr_block     = "0.0.0.0/0"
      nat_gateway_id = aws_nat_gateway.this[count.index].id
    }
  }

  tags = {
    "pci-dss" = "1.3.2"
  }
}

resource "aws_route_table_association" "private" {
  count          = local.zones
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

resource "aws_cloudwatch_log_group" "flow" {
  name              = "/strongroom/${var.name}/flow-logs"
  retention_in_days = 365
  kms_key_id        = var.kms_key_arn

  tags = {
    "pci-dss" = "10.2.1 10.5.1"
  }
}

data "aws_iam_policy_document" "flow_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_write" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow.arn}:*"]
  }
}

resource "aws_iam_role" "flow" {
  name               = "${var.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_assume.json

  tags = {
    "pci-dss" = "10.2.1"
  }
}

resource "aws_iam_role_policy" "flow" {
  role   = aws_iam_role.flow.id
  policy = data.aws_iam_policy_document.flow_write.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.flow.arn

  tags = {
    "pci-dss" = "10.2.1"
  }
}

# AWS APIs (ECR, logs, secrets, KMS, metrics) through the VPC, not the internet.
resource "aws_security_group" "endpoints" {
  name        = "${var.name}-aws-endpoints"
  description = "Interface endpoints of AWS services, reached from inside the VPC on 443"
  vpc_id      = aws_vpc.this.id

  tags = {
    "pci-dss" = "1.2.1 4.2.1"
  }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS from the VPC"
  cidr_ipv4         = var.cidr_block
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true

  tags = {
    "pci-dss" = "1.3.2 4.2.1"
  }
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = {
    "pci-dss" = "1.3.2"
  }
}
