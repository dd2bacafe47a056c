"""The API stacks of both modes over real HTTP, with a real vault, fraud service and card
network beside them (each an in-process server on loopback), on SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import api.app
import api.config
import card_network.app
import card_network.config
import fraud.app
import fraud.config
import vault.app
import vault.config
from strongroom import testcards
from strongroom.devkeys import DevSecrets, generate
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from strongroom.stack import Options, Ports, services, settings_kwargs
from strongroom.supervisor import free_ports
from tests.conftest import PACING_OFF, create_database, drop_database
from tests.helpers.servers import serving

# The test cards that succeed (Amex aside: its CVC has four digits), taken in turn.
_SUCCEEDING = itertools.cycle([n for n in testcards.BRANDS if not n.startswith("3")])

# Webhook retries in tens of milliseconds, so a test sees five attempts in under a second.
FAST_WEBHOOKS = {
    "webhook_backoff_seconds": 0.05,
    "webhook_backoff_max_seconds": 0.2,
    "webhook_max_attempts": 5,
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2.0,
    "webhook_allow_private_networks": True,
}


@dataclass
class Stacks:
    opts: Options
    secrets: DevSecrets
    urls: dict[str, str]
    store: str
    settings: dict[str, api.config.Settings] = field(default_factory=dict)

    def marketplace(self, name: str = "shop") -> MarketplaceKeys:
        """A new marketplace with its four keys, registered in the vault and both stacks."""
        return create_marketplace(self.opts, self.secrets, name)

    def client(self, key: str, **headers: str) -> httpx.Client:
        """A client of the API stack of `key`'s mode."""
        mode = "live" if "_live_" in key else "test"
        return httpx.Client(
            base_url=self.urls[f"api-{mode}"],
            headers={"authorization": f"Bearer {key}", **headers},
            timeout=30.0,
        )

    def token(self, keys: MarketplaceKeys, number: str | None = None, live: bool = False) -> str:
        """Tokenise at the vault, as strongroom.js does; a fresh card unless one is given.

        Test mode takes only the documented test cards: each call takes the next of those
        that succeed; live mode, a Luhn-valid number made up now.
        """
        number = number or (testcards.generated_card() if live else next(_SUCCEEDING))
        response = httpx.post(
            self.urls["vault"] + "/v1/cards",
            json={
                "number": number,
                "exp_month": 12,
                "exp_year": dt.date.today().year + 2,
                "cvc": "123",
            },
            headers={"authorization": f"Bearer {keys.pk_live if live else keys.pk_test}"},
        )
        assert response.status_code == 201, response.text
        token: str = response.json()["id"]
        return token

    def network_messages(self) -> list[dict[str, Any]]:
        response = httpx.get(
            self.urls["card_network"] + "/v1/messages",
            headers={"authorization": f"Bearer {self.secrets.network_credential}"},
        )
        data: list[dict[str, Any]] = response.json()["data"]
        return data


def start(data_dir: Path, store: str, **api_overrides: Any) -> Iterator[Stacks]:
    names = ("edge", "router", "api_test", "api_live", "vault", "fraud", "network")
    ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
    databases: list[str] = []
    if store == "postgresql":
        databases = [create_database() for _ in range(3)]
    opts = Options(
        data_dir=data_dir,
        ports=ports,
        vault_database_url=databases[0] if databases else None,
        api_test_database_url=databases[1] if databases else None,
        api_live_database_url=databases[2] if databases else None,
    )
    secrets = generate()
    env = {s.name: s.env for s in services(opts, secrets)}
    network_settings = card_network.config.Settings.model_validate(
        settings_kwargs(env["card_network"], "NETWORK_")
    )
    vault_settings = vault.config.Settings.model_validate(
        {**settings_kwargs(env["vault"], "VAULT_"), **settings_kwargs(PACING_OFF, "VAULT_")}
    )
    fraud_settings = fraud.config.Settings.model_validate(settings_kwargs(env["fraud"], "FRAUD_"))
    stacks = Stacks(opts, secrets, {}, store)
    try:
        with ExitStack() as running:
            apps = [
                ("card_network", card_network.app.create_app(network_settings), ports.network),
                ("vault", vault.app.create_app(vault_settings), ports.vault),
                ("fraud", fraud.app.create_app(fraud_settings), ports.fraud),
            ]
            for mode, port in (("test", ports.api_test), ("live", ports.api_live)):
                kwargs = {**settings_kwargs(env[f"api-{mode}"], "API_"), **FAST_WEBHOOKS}
                settings = api.config.Settings.model_validate({**kwargs, **api_overrides})
                stacks.settings[mode] = settings
                apps.append((f"api-{mode}", api.app.create_app(settings), port))
            for name, app, port in apps:
                stacks.urls[name] = running.enter_context(serving(app, port))
            yield stacks
    finally:
        for url in databases:
            drop_database(url)


@pytest.fixture(scope="session")
def sqlite_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    """The stacks on SQLite: also for behaviour that does not depend on the store."""
    yield from start(tmp_path_factory.mktemp("stacks"), "sqlite")


@pytest.fixture(scope="session")
def postgresql_stacks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stacks]:
    yield from start(tmp_path_factory.mktemp("stacks"), "postgresql")


@pytest.fixture(params=["sqlite", "postgresql"])
def stacks(request: pytest.FixtureRequest) -> Stacks:
    """Both API stacks and their neighbours, on the embedded default and on PostgreSQL.
    Started once per session; each test makes a marketplace of its own (`shop`)."""
    running: Stacks = request.getfixturevalue(f"{request.param}_stacks")
    return running


@pytest.fixture
def shop(stacks: Stacks) -> MarketplaceKeys:
    return stacks.marketplace()
