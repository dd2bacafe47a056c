"""`strongroom marketplace …`: create, list, and roll keys of marketplaces."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from strongroom.datadir import data_dir_option, database_options, recorded, secrets_of
from strongroom.marketplaces import (
    MarketplaceKeys,
    create_marketplace,
    list_marketplaces,
    roll_key,
)
from strongroom.stack import Options

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def stack_of(kw: dict[str, Any]) -> Options:
    """The data dir's recorded stack, its databases as overridden by options or environment."""
    given = {
        name: kw[name]
        for name in ("vault_database_url", "api_test_database_url", "api_live_database_url")
        if kw.get(name) is not None
    }
    return dataclasses.replace(recorded(kw["data_dir"]), **given)


def print_keys(keys: MarketplaceKeys) -> None:
    click.echo(f"  marketplace      {keys.id} ({keys.name})")
    for label in ("pk_test", "sk_test", "pk_live", "sk_live"):
        click.echo(f"  {label:<16} {getattr(keys, label)}")


@click.group("marketplace")
def marketplace_group() -> None:
    """Marketplaces and their keys."""


@marketplace_group.command("create")
@click.argument("name")
@data_dir_option
@database_options
@json_option
def create(name: str, as_json: bool, **kw: Any) -> None:
    """Create a marketplace and print its test and live keys (shown only this once)."""
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1-200 characters", param_hint="NAME")
    secrets_ = secrets_of(kw["data_dir"])
    keys = create_marketplace(stack_of(kw), secrets_, name)
    if as_json:
        click.echo(keys.model_dump_json())
    else:
        print_keys(keys)


@marketplace_group.command("list")
@data_dir_option
@database_options
@json_option
def list_(as_json: bool, **kw: Any) -> None:
    """Every marketplace: id, name and when it was made."""
    secrets_ = secrets_of(kw["data_dir"])
    found = list_marketplaces(stack_of(kw), secrets_)
    if as_json:
        click.echo(json.dumps({"data": found}))
        return
    for row in found:
        click.echo(f"{row['id']:<22} {row['created']:<26} {row['name']}")
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
@data_dir_option
@database_options
@json_option
def roll(key: str, overlap: int, as_json: bool, **kw: Any) -> None:
    """Replace KEY by a new key of its kind and mode; print the new key (shown only once)."""
    secrets_ = secrets_of(kw["data_dir"])
    try:
        new_key = roll_key(stack_of(kw), secrets_, key, overlap)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"key": new_key, "old_key_works_for": overlap}))
        return
    click.echo(new_key)
    click.echo(f"The old key works for {overlap} more seconds.", err=True)
