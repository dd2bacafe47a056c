# One direction of the link between the accounts: an internal Network Load Balancer in
# front of one service, offered as a VPC endpoint service to exactly one principal of the
# other account, each connection accepted by hand. Traffic flows only from the consumer's
# endpoint to this service; nothing here can open a connection back (PCI DSS 1.3.1, 1.3.2).

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:a TCP pass-through listener writes no access logs; flow logs record every connection
  name                       = var.name
  load_balancer_type         = "network"
  internal                   = true
  subnets                    = var.subnet_ids
  security_groups            = var.security_group_ids
  enable_deletion_protection = true

  enable_cross_zone_load_balancing = true

  # Endpoint connections are judged by the endpoint service's allowed principals and
  # manual acceptance; the group's rules still decide everything else, and it has no
  # other ingress rule.
  enforce_security_group_inbound_rules_on_private_link_traffic = "off"

  tags = {
    "pci-dss" = "1.3.1 1.3.2"
  }
}

# TLS passes through to the service, which holds its own certificate: end to end.
resource "aws_lb_target_group" "this" {
  name        = var.name
  target_type = "ip"
  vpc_id      = var.vpc_id
  port        = var.port
  protocol    = "TCP"

  health_check {
    protocol = "HTTPS"
    path     = "/healthz"
  }

  tags = {
    "pci-dss" = "1.3.1"
  }
}

resource "aws_lb_listener" "this" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = {
    "pci-dss" = "1.3.1"
  }
}

resource "aws_vpc_endpoint_service" "this" {
  acceptance_required        = true
  network_load_balancer_arns = [aws_lb.this.arn]
  allowed_principals         = [var.consumer_principal_arn]
  supported_ip_address_types = ["ipv4"]

  tags = {
    Name      = var.name
    "pci-dss" = "1.3.1 1.3.2"
  }
}

resource "aws_vpc_endpoint_connection_accepter" "this" {
  for_each                = toset(var.accepted_endpoint_ids)
  vpc_endpoint_service_id = aws_vpc_endpoint_service.this.id
  vpc_endpoint_id         = each.value
}
