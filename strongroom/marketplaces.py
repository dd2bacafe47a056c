"""Creating a marketplace: its id and four keys, registered by the running services that
check them — the vault by a signed `register_keys` command, each API stack through its
/admin/v1 — never by writing their databases.

The dev marketplace's keys are made before the stack starts (the demo shop is given them)
and registered once the stack is healthy.
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path

import click
from pydantic import BaseModel

from strongroom.admin_client import AppAdmin, VaultAdmin, signing_key
from strongroom.devkeys import DevSecrets, read_private, write_private
from strongroom.stack import Options

ALNUM = string.ascii_letters + string.digits
DEV_KEYS = "dev-marketplace.json"
# The id of the vault the dev keys were registered with: registered again (idempotent) if
# the stack's vault is another one, a new vault database say.
DEV_REGISTERED = "dev-marketplace.registered"


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


def register(keys: MarketplaceKeys, vault: VaultAdmin, stacks: dict[str, AppAdmin]) -> None:
    """Register `keys` with the vault, then each with its mode's API stack. Run again after
    a failure, it finishes the job: the vault takes a key already its marketplace's, and a
    stack that has the marketplace is left as it is."""
    # The vault first: a key the API knows but the vault refuses tokenises nothing.
    every = [keys.pk_test, keys.sk_test, keys.pk_live, keys.sk_live]
    vault.run({"action": "register_keys", "marketplace": keys.id, "keys": every})
    for mode, admin in stacks.items():
        if all(row["id"] != keys.id for row in admin.list()):
            admin.create(
                keys.id, keys.name, [getattr(keys, f"pk_{mode}"), getattr(keys, f"sk_{mode}")]
            )


def local_admins(opts: Options, secrets_: DevSecrets) -> tuple[VaultAdmin, dict[str, AppAdmin]]:
    """The admin interfaces of the local stack `opts` describes, reached with its dev secrets."""
    if not secrets_.operator_signing_key or not secrets_.api_admin_credential:
        raise click.ClickException(
            f"the secrets of {opts.data_dir} predate the admin interfaces; "
            f"`strongroom init --data-dir {opts.data_dir}` adds what they lack"
        )

    def url(port: int) -> str:
        return f"http://{opts.host}:{port}"

    key = signing_key(secrets_.operator_signing_key, "the dev secrets")
    stacks = {
        mode: AppAdmin(mode, url(getattr(opts.ports, f"api_{mode}")), secrets_.api_admin_credential)
        for mode in ("test", "live")
    }
    return VaultAdmin(url(opts.ports.vault), key), stacks


def create_marketplace(opts: Options, secrets_: DevSecrets, name: str) -> MarketplaceKeys:
    """A new marketplace, registered with the running stack `opts` describes."""
    keys = new_keys(name)
    register(keys, *local_admins(opts, secrets_))
    return keys


def dev_marketplace_keys(data_dir: Path) -> MarketplaceKeys:
    """The keys of the marketplace `strongroom up` prints: made at the first run, kept 0600.
    Registered only by register_dev_marketplace, once the stack serves."""
    found = load_dev_marketplace(data_dir)
    if found is not None:
        return found
    keys = new_keys("dev")
    write_private(data_dir / DEV_KEYS, keys.model_dump_json(indent=2))
    return keys


def register_dev_marketplace(opts: Options, secrets_: DevSecrets, keys: MarketplaceKeys) -> None:
    """Register the dev keys with the running stack, unless its vault has them already."""
    vault, stacks = local_admins(opts, secrets_)
    marker = opts.data_dir / DEV_REGISTERED
    vault_id = vault.audience()["vault"]
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == vault_id:
        return
    register(keys, vault, stacks)
    marker.write_text(vault_id + "\n", encoding="utf-8")


def load_dev_marketplace(data_dir: Path) -> MarketplaceKeys | None:
    path = data_dir / DEV_KEYS
    if not path.exists():
        return None
    return MarketplaceKeys.model_validate(json.loads(read_private(path)))
