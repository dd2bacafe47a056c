"""A whole Strongroom stack as real processes on free ports, for tests through the edge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.devkeys import DevSecrets, load_or_create
from strongroom.marketplaces import MarketplaceKeys, dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from tests.helpers.tls import LocalPki, make_pki


@dataclass
class Stack:
    opts: Options
    secrets: DevSecrets
    keys: MarketplaceKeys
    supervisor: Supervisor
    # A certificate the stack's webhook worker trusts, for local https:// receivers (live
    # endpoints must be https): serve with tests.helpers.servers.serving(app, tls=…).
    webhook_tls: LocalPki | None = None

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.opts.ports.edge}"

    def client(self, key: str) -> httpx.Client:
        """A client of the api host, through the edge, authenticated with `key`."""
        return httpx.Client(
            base_url=self.edge_url,
            headers={"host": "api.localhost", "authorization": f"Bearer {key}"},
            timeout=30.0,
        )

    def network_messages(self) -> list[dict[str, object]]:
        response = httpx.get(
            f"http://127.0.0.1:{self.opts.ports.network}/v1/messages",
            headers={"authorization": f"Bearer {self.secrets.network_credential}"},
        )
        response.raise_for_status()
        data: list[dict[str, object]] = response.json()["data"]
        return data


def files_holding(root: Path, needles: list[str]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(root)}: …{n[-4:]}" for n in needles if n.encode() in data]
    return found


def start_stack(data_dir: Path, **databases: Any) -> Iterator[Stack]:
    ports = Ports(*free_ports(7))
    # The test stack at normal CPU priority: on a busy CI machine the idle priority that
    # `strongroom up` gives it could starve it (bench/router.py measures that priority).
    options = {"api_test_priority": "normal", **databases}
    tls = make_pki(data_dir / "webhook-tls")
    options.setdefault("webhook_ca_file", tls.ca_file)
    opts = Options(data_dir=data_dir, ports=ports, **options)
    secrets = load_or_create(data_dir)
    keys = dev_marketplace_keys(data_dir)
    with Supervisor(services(opts, secrets), opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        register_dev_marketplace(opts, secrets, keys)
        yield Stack(opts, secrets, keys, supervisor, tls)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on its embedded defaults: SQLite, local keyring, in-process counters."""
    # The router's test-mode pacing (25 requests a second per key) would only slow the
    # suite down; tests/router tests it.
    yield from start_stack(
        tmp_path_factory.mktemp("stack"), router_test_rate_per_key=0, router_test_rate=0
    )
