"""`strongroom vault …` and `strongroom audit …`: what operators and auditors run.

Operator commands (rotate-key, rewrap, breaker, raise-limit) are signed with the
operator's Ed25519 key for one vault and environment (as its /healthz names them) and
sent to the running vault, which checks the signature against the public key it was
given: the dev key of DATA_DIR/secrets.json, or --operator-key. The audit commands read
the log and the database.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import vault.config
from strongroom.devkeys import load_or_create
from strongroom.stack import Options, Ports, services, settings_kwargs
from vault.audit import read_anchors
from vault.audit_chain import AuditChainBroken, Head, verify_chain
from vault.store.db import make_engine
from vault.store.migrate import upgrade_to_head


def vault_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Where the vault's data and process are, as `strongroom up` was told."""
    for decorator in reversed(
        [
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False, path_type=Path),
                default=Path("var"),
                show_default=True,
                help="Where databases, keys and logs live.",
            ),
            click.option("--host", default="127.0.0.1", show_default=True, help="Vault host."),
            click.option(
                "--vault-port",
                type=click.IntRange(1, 65535),
                default=Ports().vault,
                show_default=True,
            ),
            click.option(
                "--vault-database-url",
                envvar="STRONGROOM_VAULT_DATABASE_URL",
                help="Vault database (default: SQLite in the data dir).",
            ),
        ]
    ):
        f = decorator(f)
    return f


def operator_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--operator-key",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="File with the operator's raw Ed25519 private key, base64 (default: the dev key).",
    )(f)


def vault_settings(kw: dict[str, Any]) -> vault.config.Settings:
    """The vault's Settings exactly as `strongroom up` builds them for its process."""
    opts = Options(
        data_dir=kw["data_dir"],
        host=kw["host"],
        ports=Ports(vault=kw["vault_port"]),
        vault_database_url=kw["vault_database_url"],
    )
    env = {s.name: s.env for s in services(opts, load_or_create(opts.data_dir))}
    return vault.config.Settings.model_validate(settings_kwargs(env["vault"], "VAULT_"))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _operator_key(kw: dict[str, Any]) -> Ed25519PrivateKey:
    path: Path | None = kw.get("operator_key")
    if path is not None:
        if path.stat().st_mode & 0o077:
            raise click.ClickException(f"{path} is readable by others; chmod 600 it")
        encoded = path.read_text().strip()
    else:
        encoded = load_or_create(kw["data_dir"]).operator_signing_key
        if not encoded:
            raise click.ClickException("no operator key in the dev secrets; pass --operator-key")
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def _post(settings: vault.config.Settings, path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = f"http://{settings.host}:{settings.port}{path}"
    try:
        response = httpx.post(url, json=body, timeout=120)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the vault at {url} is unreachable: {exc}") from None
    answer: dict[str, Any] = response.json()
    if response.status_code != 200:
        error = answer.get("error", {})
        raise click.ClickException(
            f"the vault refused: {error.get('code')}: {error.get('message')}"
        )
    return answer


def _audience(settings: vault.config.Settings) -> dict[str, str]:
    """The vault and environment a command is signed for: the running vault's own."""
    url = f"http://{settings.host}:{settings.port}/healthz"
    try:
        health = httpx.get(url, timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise click.ClickException(f"the vault at {url} is unreachable: {exc}") from None
    return {"vault": str(health["vault_id"]), "environment": str(health["environment"])}


def run_command(kw: dict[str, Any], command: dict[str, Any]) -> dict[str, Any]:
    """Sign `command` with the operator key for this vault and have it execute the command."""
    settings = vault_settings(kw)
    body = {"nonce": secrets.token_urlsafe(24), "expires_at": int(time.time()) + 60}
    body |= _audience(settings)
    payload = json.dumps({**body, "command": command}, sort_keys=True, separators=(",", ":"))
    signature = _operator_key(kw).sign(payload.encode())
    signed = {"payload": _b64url(payload.encode()), "signature": _b64url(signature)}
    return _post(settings, "/admin/v1/commands", signed)


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


@click.group("audit")
def audit_group() -> None:
    """Check and export the vault's audit log."""


def _verified(settings: vault.config.Settings, path: Path) -> Head:
    engine = make_engine(settings.db_url)
    try:
        upgrade_to_head(engine)
        anchors = read_anchors(engine)
    finally:
        engine.dispose()
    try:
        return verify_chain(path, anchors)
    except (AuditChainBroken, OSError) as exc:
        raise click.ClickException(f"audit log FAILED verification: {exc}") from None


@audit_group.command()
@vault_options
def verify(**kw: Any) -> None:
    """Check every entry's hash link and that the log reaches the anchor in the database."""
    settings = vault_settings(kw)
    head = _verified(settings, settings.audit_path)
    click.echo(f"audit log OK: {head.seq} entries, newest {head.hash}")


@audit_group.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@vault_options
def export(out: Path, **kw: Any) -> None:
    """Copy the verified log to OUT, for the security team to verify on its own machine."""
    settings = vault_settings(kw)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f, settings.audit_path.open("rb") as log:
        shutil.copyfileobj(log, f)
    try:
        head = _verified(settings, out)
    except click.ClickException:
        out.unlink()
        raise
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    click.echo(f"exported {head.seq} entries to {out} (sha256 {digest})")
    # vault/audit_chain.py is standard library only: it verifies the export on any machine.
    click.echo(f"verify anywhere: python3 audit_chain.py {out.name} {head.seq} {head.hash}")
