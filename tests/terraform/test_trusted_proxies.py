"""The vault believes X-Forwarded-For from the edge's subnets only: set in the PCI root,
from the network module's private subnet ranges (where the edge's tasks run)."""

from __future__ import annotations

from tests.terraform.hcl import Account


def test_the_vault_trusts_the_subnets_the_edge_runs_in(pci: Account):
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    trusted = calls["vault"]["environment"]["VAULT_TRUSTED_PROXIES"]
    assert "module.network.private_subnet_cidrs" in trusted
    assert calls["edge"]["subnet_ids"] == "${module.network.private_subnet_ids}"
