"""`strongroom vault …`: what operators run.

Operator commands (rotate-key, rewrap, breaker, raise-limit) are signed with the
operator's Ed25519 key for one vault and environment (as its /healthz names them) and
sent to the running vault, which checks the signature against the public key it was
given: the dev key of DATA_DIR/secrets.json, or --operator-key. The running vault is the
one writer of its database and keyring: no command here opens either.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.admin_client import VaultAdmin, signing_key
from strongroom.datadir import data_dir_option, recorded, require_data_dir, secrets_of


def vault_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Which stack's vault: the data dir's, as `strongroom up` recorded it, or --vault-url."""
    f = click.option(
        "--vault-url",
        envvar="STRONGROOM_VAULT_URL",
        show_envvar=True,
        help="The vault to command. Default: as recorded at the last `up` in the data dir, "
        "else http://127.0.0.1:8084.",
    )(f)
    return data_dir_option(f)


def operator_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """The operator's key, and the vault it means to command."""
    f = click.option(
        "--environment",
        "vault_environment",
        envvar="STRONGROOM_VAULT_ENVIRONMENT",
        show_envvar=True,
        help="Sign only for a vault of this environment (as its /healthz names it); "
        "required with a --vault-url off this machine.",
    )(f)
    f = click.option(
        "--vault-id",
        envvar="STRONGROOM_VAULT_ID",
        show_envvar=True,
        help="Sign only for the vault of this id (as its /healthz names it); required with "
        "a --vault-url off this machine.",
    )(f)
    return click.option(
        "--operator-key",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="File with the operator's raw Ed25519 private key, base64 (default: the dev key).",
    )(f)


def vault_url(kw: dict[str, Any]) -> str:
    """--vault-url, else the vault `up` recorded in the data dir."""
    url: str | None = kw.get("vault_url")
    if not url:
        opts = recorded(require_data_dir(kw["data_dir"]))
        url = f"http://{opts.host}:{opts.ports.vault}"
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint="--vault-url")
    return url.rstrip("/")


def operator_key(kw: dict[str, Any]) -> Ed25519PrivateKey:
    path: Path | None = kw.get("operator_key")
    if path is not None:
        if path.stat().st_mode & 0o077:
            raise click.ClickException(f"{path} is readable by others; chmod 600 it")
        try:
            encoded = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            raise click.ClickException(f"cannot read the operator key {path}") from None
        source = str(path)
    else:
        encoded = secrets_of(kw["data_dir"]).operator_signing_key
        source = "the dev secrets"
        if not encoded:
            raise click.ClickException("no operator key in the dev secrets; pass --operator-key")
    return signing_key(encoded, source)


def expected_audience(kw: dict[str, Any], url: str) -> dict[str, str]:
    """The vault id and environment the operator named. A vault named by a URL off this
    machine is commanded only over https and only when both are named: its /healthz is
    anyone's to answer, and a command signed for whatever a server there claims to be (a
    mistyped address, the live vault where a test one was meant) would run wherever it is
    sent within its lifetime."""
    expect = {"vault": kw.get("vault_id"), "environment": kw.get("vault_environment")}
    named = {name: value for name, value in expect.items() if value}
    if kw.get("vault_url") and not _on_this_machine(url):
        if not url.startswith("https://"):
            raise click.BadParameter(
                "a vault off this machine is commanded over https only", param_hint="--vault-url"
            )
        if len(named) != len(expect):
            raise click.UsageError(
                "a vault off this machine is commanded only for the vault id and environment "
                "you name: pass --vault-id and --environment (its /healthz says both)"
            )
    return named


def _on_this_machine(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def vault_admin(kw: dict[str, Any]) -> VaultAdmin:
    """The vault's operator commands, signed with --operator-key or the dev key, for the
    vault the operator named (expected_audience)."""
    key = operator_key(kw)  # a bad key file is refused before the vault is asked anything
    url = vault_url(kw)
    return VaultAdmin(url, key, expected_audience(kw, url))


def run_command(kw: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    """Sign `command` with the operator key for this vault and have it execute the command."""
    return vault_admin(kw).run(command)


@click.group("vault")
def vault_group() -> None:
    """Keys, the breaker and spend caps of the vault."""


@vault_group.command("rotate-key")
@vault_options
@operator_option
def rotate_key(**kw: Any) -> None:
    """Add a master key version; new cards are wrapped under it at once."""
    current = run_command(kw, {"action": "rotate_key"})["current"]
    click.echo(f"Master key version {current} is current. Run `strongroom vault rewrap` next.")


@vault_group.command()
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True)
@click.option("--retire", is_flag=True, help="Then refuse every older version.")
@vault_options
@operator_option
def rewrap(batch: int, retire: bool, **kw: Any) -> None:
    """Move every record to the current key version, a batch at a time, while serving."""
    total = 0
    while True:
        result = run_command(kw, {"action": "rewrap", "batch": batch})
        total += result["rewrapped"]
        click.echo(f"rewrapped {total}, {result['remaining']} left")
        if result["remaining"] == 0:
            break
    if retire:
        run_command(kw, {"action": "retire_keys", "below": result["current"]})
        click.echo(f"Versions below {result['current']} are retired.")


@vault_group.command()
@click.argument("state", type=click.Choice(["open", "close"]))
@click.option("--marketplace", help="Only this marketplace (default: every one).")
@vault_options
@operator_option
def breaker(state: str, marketplace: str | None, **kw: Any) -> None:
    """Stop (open) or resume (close) live charges, of all marketplaces or one."""
    scope = marketplace or "*"
    run_command(kw, {"action": "breaker", "scope": scope, "open": state == "open"})
    click.echo(
        f"Breaker {'open: live charges stopped' if state == 'open' else 'closed'} ({scope})."
    )


@vault_group.command("raise-limit")
@click.option("--window", type=click.Choice(["minute", "total"]), required=True)
@click.option("--amount", type=click.IntRange(0), required=True, help="In minor units.")
@click.option("--marketplace", help="Only this marketplace (default: the global cap).")
@vault_options
@operator_option
def raise_limit(window: str, amount: int, marketplace: str | None, **kw: Any) -> None:
    """Set a cap on live charge volume, and resume charges the old cap stopped."""
    scope = marketplace or "*"
    run_command(kw, {"action": "set_limit", "scope": scope, "window": window, "amount": amount})
    click.echo(f"Cap per {window} for {scope}: {amount}.")
