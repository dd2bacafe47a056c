# The one public entry of Strongroom: an application load balancer answering HTTPS on 443
# only, TLS 1.2 or later (PCI DSS 4.2.1), in front of the edge (re-encrypted to the edge
# tasks), guarded by the WAF web ACL it is given.

resource "aws_acm_certificate" "this" {
  domain_name               = var.domain_names[0]
  subject_alternative_names = slice(var.domain_names, 1, length(var.domain_names))
  validation_method         = "DNS"

  lifecycle {
    create_before_destroy = true
  }

  tags = {
    "pci-dss" = "4.2.1 4.2.1.1"
  }
}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:the web ACL comes from the waf module, which carries the Log4j managed rules (CKV_AWS_192 passes there); the graph check cannot follow it across modules
  #checkov:skip=CKV2_AWS_20:no port 80 listener exists to redirect; the load balancer answers 443 only
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.subnet_ids
  security_groups            = var.security_group_ids
  drop_invalid_header_fields = true # no smuggling through malformed headers
  enable_deletion_protection = true
  desync_mitigation_mode     = "strictest"
  idle_timeout               = var.idle_timeout
  # The client's address appended as the last X-Forwarded-For entry: what the edge reads
  # (EDGE_TRUSTED_PROXIES), never what the client wrote before it.
  xff_header_processing_mode = "append"

  access_logs {
    bucket  = var.access_log_bucket
    prefix  = "alb"
    enabled = true
  }

  tags = {
    "pci-dss" = "1.4.1 4.2.1"
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

resource "aws_lb_target_group" "edge" {
  name        = "${var.name}-edge"
  target_type = "ip"
  vpc_id      = var.vpc_id
  port        = var.edge_port
  protocol    = "HTTPS" # re-encrypted to the edge: card data is never in clear on the wire

  health_check {
    path     = "/healthz"
    protocol = "HTTPS"
    matcher  = "200"
  }

  tags = {
    "pci-dss" = "4.2.1"
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06" # TLS 1.3 and 1.2 only, forward-secret ciphers
  certificate_arn   = aws_acm_certificate.this.arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.edge.arn
  }

  tags = {
    "pci-dss" = "4.2.1"
  }
}
