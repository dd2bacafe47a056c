"""Creating a marketplace: its id and four keys, registered where each is checked."""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

from pydantic import BaseModel

import api.admin
import api.config
import vault.admin
import vault.config
from strongroom.devkeys import DevSecrets, read_private, write_private
from strongroom.stack import Options, services, settings_kwargs

ALNUM = string.ascii_letters + string.digits


class MarketplaceKeys(BaseModel):
    id: str
    name: str
    pk_test: str
    sk_test: str
    pk_live: str
    sk_live: str


def _random(n: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(n))


def random_key() -> str:
    """The random part of an API key (after its pk_/sk_ test_/live_ prefix)."""
    return _random(32)


def new_keys(name: str) -> MarketplaceKeys:
    return MarketplaceKeys(
        id="mkt_" + _random(16),
        name=name,
        pk_test="pk_test_" + _random(32),
        sk_test="sk_test_" + _random(32),
        pk_live="pk_live_" + _random(32),
        sk_live="sk_live_" + _random(32),
    )


def create_marketplace(opts: Options, secrets_: DevSecrets, name: str) -> MarketplaceKeys:
    """Register the keys with the vault and with the API stack of each mode."""
    keys = new_keys(name)
    env = {s.name: s.env for s in services(opts, secrets_)}
    vault.admin.register_marketplace(
        vault.config.Settings.model_validate(settings_kwargs(env["vault"], "VAULT_")),
        keys.id,
        [keys.pk_test, keys.sk_test, keys.pk_live, keys.sk_live],
    )
    for mode, stack_keys in (
        ("test", [keys.pk_test, keys.sk_test]),
        ("live", [keys.pk_live, keys.sk_live]),
    ):
        settings = api.config.Settings.model_validate(settings_kwargs(env[f"api-{mode}"], "API_"))
        api.admin.register_marketplace(settings, keys.id, name, stack_keys)
    return keys


def dev_marketplace(opts: Options, secrets_: DevSecrets) -> MarketplaceKeys:
    """The marketplace `strongroom up` prints keys for; made at first run, kept 0600."""
    path = opts.data_dir / "dev-marketplace.json"
    if path.exists():
        return MarketplaceKeys.model_validate(json.loads(read_private(path)))
    keys = create_marketplace(opts, secrets_, "dev")
    write_private(path, keys.model_dump_json(indent=2))
    return keys


def load_dev_marketplace(data_dir: Path) -> MarketplaceKeys | None:
    path = data_dir / "dev-marketplace.json"
    if not path.exists():
        return None
    return MarketplaceKeys.model_validate(json.loads(read_private(path)))
