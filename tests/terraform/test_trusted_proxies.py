"""Whose X-Forwarded-For is believed, as the PCI root sets it: the vault believes the edge
alone (the private subnets, where the edge's tasks run, and its credential); the edge
believes the load balancer alone (the public subnets, where its nodes take addresses)."""

from __future__ import annotations

from tests.terraform.hcl import Account


def test_the_vault_trusts_the_subnets_the_edge_runs_in(pci: Account):
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    trusted = calls["vault"]["environment"]["VAULT_TRUSTED_PROXIES"]
    assert "module.network.private_subnet_cidrs" in trusted
    assert calls["edge"]["subnet_ids"] == "${module.network.private_subnet_ids}"


def test_the_edge_and_the_vault_get_the_edges_credential_as_secrets(pci: Account):
    # An address is no proof (any task in those subnets has one): the edge's X-Forwarded-
    # For is believed only with its credential, a secret of each and never a plain variable.
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    vault, edge = calls["vault"], calls["edge"]
    assert vault["secrets"]["VAULT_EDGE_CREDENTIAL"] == (
        '${aws_secretsmanager_secret.vault["edge-credential"].arn}'
    )
    assert edge["secrets"]["EDGE_VAULT_CREDENTIAL"] == (
        "${aws_secretsmanager_secret.edge_vault_credential.arn}"
    )
    assert any("edge-credential" in str(d.locals.get("vault_secrets")) for d in pci.dirs())
    (secret,) = [
        b
        for b in pci.all("resource", "aws_secretsmanager_secret")
        if b.name == ("edge_vault_credential")
    ]
    assert secret.body["name"] == "strongroom/edge/vault-credential"
    # Terraform never holds its value: the security team puts it (docs/operations.md).
    assert pci.all("resource", "aws_secretsmanager_secret_version") == []


def test_the_edge_reads_the_client_from_the_load_balancer_in_the_public_subnets(pci: Account):
    # Behind the load balancer every connection is one of its nodes': without this the
    # edge would tell the vault to pace every shopper as those few addresses.
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    trusted = calls["edge"]["environment"]["EDGE_TRUSTED_PROXIES"]
    assert "module.network.public_subnet_cidrs" in trusted
    balancers = {call.name: call.body for call, _ in pci.calls_of("tls_load_balancer")}
    assert balancers["load_balancer"]["subnet_ids"] == "${module.network.public_subnet_ids}"
    # It appends the address it accepted the connection from (its default, stated).
    [(_, module)] = pci.calls_of("tls_load_balancer")
    [alb] = [b for b in module.of("resource", "aws_lb") if b.name == "this"]
    assert alb.body["xff_header_processing_mode"] == "append"


def test_the_edge_keeps_an_idle_connection_longer_than_the_load_balancer(pci: Account):
    # Otherwise the edge closes an idle connection as the load balancer sends a shopper's
    # request on it, and the shopper gets a 502 (AWS: the target's keep-alive must be
    # longer than the load balancer's idle timeout).
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    keepalive = calls["edge"]["environment"]["EDGE_KEEPALIVE_TIMEOUT"]
    assert keepalive == "${tostring(local.lb_idle_timeout + 15)}"
    balancers = {call.name: call.body for call, _ in pci.calls_of("tls_load_balancer")}
    assert balancers["load_balancer"]["idle_timeout"] == "${local.lb_idle_timeout}"
    [(_, module)] = pci.calls_of("tls_load_balancer")
    [alb] = [b for b in module.of("resource", "aws_lb") if b.name == "this"]
    assert alb.body["idle_timeout"] == "${var.idle_timeout}"


def test_the_js_hosts_pages_may_call_the_public_api(pci: Account):
    # The hosted fields page's CSP connect-src is EDGE_API_ORIGINS; its default is
    # http://<api host>:<edge port>, which no browser behind the load balancer reaches.
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    assert calls["edge"]["environment"]["EDGE_API_ORIGINS"] == "https://${var.api_host}"
