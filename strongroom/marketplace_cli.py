"""`strongroom marketplace …`: create, list, and roll keys of marketplaces.

Each is a client of the admin interfaces alone: the API stacks' /admin/v1 (with the admin
credential) and the vault's operator-signed commands. No database is opened and no key-hash
secret is needed, so the commands work the same against a vault in another account.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from typing import Any

import click

from strongroom.admin_client import AppAdmin
from strongroom.datadir import data_dir_option, recorded, require_data_dir, secrets_of
from strongroom.marketplaces import MarketplaceKeys, new_keys, random_key, register
from strongroom.vault_cli import operator_option, run_command, vault_admin

CREDENTIAL_ENV = "STRONGROOM_API_ADMIN_CREDENTIAL"


def admin_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Where the admin interfaces are; each defaults to what `up` recorded in the data dir."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        data_dir_option,
        *[
            click.option(
                f"--api-{mode}-url",
                envvar=f"STRONGROOM_API_{mode.upper()}_URL",
                show_envvar=True,
                help=f"The {mode} API stack (its own port, not the edge's). "
                "Default: as recorded by the last `up`.",
            )
            for mode in ("test", "live")
        ],
        click.option(
            "--vault-url",
            envvar="STRONGROOM_VAULT_URL",
            show_envvar=True,
            help="The vault. Default: as recorded by the last `up`.",
        ),
        operator_option,
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def stacks(kw: dict[str, Any]) -> dict[str, AppAdmin]:
    """Both API stacks' admin clients: URLs and credential given, or the data dir's."""
    credential = os.environ.get(CREDENTIAL_ENV) or ""
    needs_data_dir = not (credential and kw["api_test_url"] and kw["api_live_url"])
    if needs_data_dir:
        require_data_dir(kw["data_dir"])
        credential = credential or secrets_of(kw["data_dir"]).api_admin_credential
        if not credential:
            raise click.ClickException(
                f"no API admin credential in {kw['data_dir']}'s secrets; set {CREDENTIAL_ENV}"
            )
    opts = recorded(kw["data_dir"]) if needs_data_dir else None

    def url(mode: str) -> str:
        given: str | None = kw[f"api_{mode}_url"]
        if given:
            return given
        assert opts is not None
        return f"http://{opts.host}:{getattr(opts.ports, f'api_{mode}')}"

    return {mode: AppAdmin(mode, url(mode), credential) for mode in ("test", "live")}


def print_keys(keys: MarketplaceKeys) -> None:
    click.echo(f"  marketplace      {keys.id} ({keys.name})")
    for label in ("pk_test", "sk_test", "pk_live", "sk_live"):
        click.echo(f"  {label:<16} {getattr(keys, label)}")


@click.group("marketplace")
def marketplace_group() -> None:
    """Marketplaces and their keys, through the stacks' admin interfaces."""


@marketplace_group.command("create")
@click.argument("name")
@admin_options
def create(name: str, as_json: bool, **kw: Any) -> None:
    """Create a marketplace and print its test and live keys (shown only this once)."""
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1-200 characters", param_hint="NAME")
    admins = stacks(kw)
    for admin in admins.values():
        admin.list()  # both stacks reachable and the credential good, before any change
    keys = new_keys(name)
    register(keys, vault_admin(kw), admins)
    if as_json:
        click.echo(keys.model_dump_json())
    else:
        print_keys(keys)


@marketplace_group.command("list")
@admin_options
def list_(as_json: bool, **kw: Any) -> None:
    """Every marketplace: id, name and when it was made."""
    found = stacks(kw)["test"].list()  # each marketplace is in both stacks
    if as_json:
        click.echo(json.dumps({"data": found}))
        return
    for row in found:
        made = dt.datetime.fromtimestamp(row["created"], dt.UTC).isoformat(timespec="seconds")
        click.echo(f"{row['id']:<22} {made:<26} {row['name']}")
    click.echo(f"{len(found)} marketplaces", err=True)


@marketplace_group.command("roll-key")
@click.argument("key")
@click.option(
    "--overlap",
    type=click.IntRange(0, 7 * 24 * 3600),
    default=24 * 3600,
    show_default=True,
    help="Seconds the old key keeps working beside the new one (0: stop it now).",
)
@admin_options
def roll(key: str, overlap: int, as_json: bool, **kw: Any) -> None:
    """Replace KEY by a new key of its kind and mode; print the new key (shown only once)."""
    prefix = key[:8]
    if prefix not in ("pk_test_", "sk_test_", "pk_live_", "sk_live_"):
        raise click.BadParameter("not a Strongroom API key", param_hint="KEY")
    new_key = prefix + random_key()
    # The API stack first: it refuses an unknown or expired old key before anything changes.
    marketplace = stacks(kw)[prefix[3:7]].roll(key, new_key, overlap)
    run_command(kw, {"action": "register_keys", "marketplace": marketplace, "keys": [new_key]})
    expires = int(time.time()) + overlap
    run_command(kw, {"action": "expire_key", "key": key, "expires_at": expires})
    if as_json:
        click.echo(json.dumps({"key": new_key, "marketplace": marketplace, "expires_at": expires}))
        return
    click.echo(new_key)
    click.echo(f"The old key works for {overlap} more seconds.", err=True)
