"""Transit (OpenBao) as the PCI root runs it: the image's own entrypoint cannot write its
config nor set capabilities on a read-only root as user 10001, and two tasks need each
other's cluster port and their own addresses to be one HA cluster."""

from __future__ import annotations

from typing import Any

from tests.terraform.hcl import Account


def transit(pci: Account) -> dict[str, Any]:
    calls = {call.name: call.body for call, _ in pci.calls_of("service")}
    return calls["transit"]


def test_openbaos_entrypoint_writes_nothing_on_the_read_only_root(pci: Account):
    body = transit(pci)
    env = body["environment"]
    # BAO_LOCAL_CONFIG is written to /openbao/config under `set -e`: the task would stop.
    assert "BAO_LOCAL_CONFIG" not in env
    assert env["SKIP_SETCAP"] == env["SKIP_CHOWN"] == "true"
    # Strongroom's entrypoint writes X_PEM to X_FILE on /tmp; `server` reads that file.
    assert env["STRONGROOM_TRANSIT_CONFIG_FILE"] == "${local.transit_config_file}"
    assert body["command"] == ["server", "-config=${local.transit_config_file}"]
    # the one writable place besides a shared volume: the task's tmpfs
    assert pci.root.locals["transit_config_file"].startswith("/tmp/")  # noqa: S108


def test_transit_tasks_forward_to_the_active_one(pci: Account):
    config = pci.root.locals["transit_config"]
    assert "transit_cluster" in config["cluster_addr"] and "transit_self" in config["api_addr"]
    assert "seal" in config  # the master KMS key, in the config file, not in variables
    flows = pci.root.locals["flows"]
    assert flows["transit-to-transit"] == {
        "from": "transit",
        "to": "transit",
        "port": "${local.ports.transit_cluster}",
    }
