"""`strongroom audit …`: verify, search and summarise the vault's audit archive; ship it.

verify, search and report read an archive (closed segments and signed checkpoints) with the
checkpoint public key and nothing else: no database, no vault secret, and nothing is ever
written. Without --archive they read those of a local data dir, and its live log too.
ship uploads the vault's archive to its Object Lock bucket (strongroom.audit_ship).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from strongroom import audit_query, audit_ship
from strongroom.datadir import data_dir_option, require_data_dir
from vault_audit.checkpoint import load_public_key
from vault_audit.verify import ArchiveInvalid, Verified, verify_archive


@dataclass(frozen=True)
class Sources:
    archive: Path
    public_key: Path
    log: Path | None


def archive_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Where the archive and its public key are; by default, those of a local data dir."""
    decorators: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
        click.option(
            "--archive",
            type=click.Path(file_okay=False, path_type=Path),
            help="An archive dir (segments/, checkpoints/). Default: DATA_DIR/audit-archive.",
        ),
        click.option(
            "--public-key",
            type=click.Path(dir_okay=False, path_type=Path),
            help="The vault's checkpoint public key (base64 or PEM). Required with --archive; "
            "default: DATA_DIR/vault/audit-checkpoint.key.pub.",
        ),
        click.option(
            "--log",
            "log_copy",
            type=click.Path(dir_okay=False, path_type=Path),
            help="A copy of the live log, for entries since the newest checkpoint. "
            "Default without --archive: DATA_DIR/vault/audit.log.",
        ),
        data_dir_option,
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def sources(kw: dict[str, Any]) -> Sources:
    """The files to read: those given, or the data dir's (which must be one)."""
    archive, public_key, log = kw["archive"], kw["public_key"], kw["log_copy"]
    if archive is not None:
        if public_key is None:
            raise click.UsageError(
                "--archive needs --public-key: the archive cannot vouch for itself"
            )
        return Sources(archive, public_key, log)
    data_dir = require_data_dir(kw["data_dir"])
    vault_dir = data_dir / "vault"
    return Sources(
        data_dir / "audit-archive",
        public_key or vault_dir / "audit-checkpoint.key.pub",
        log or vault_dir / "audit.log",
    )


def verified(src: Sources) -> Verified:
    """The verified archive, or a one-line error (click exits 1) saying what failed."""
    try:
        key = load_public_key(src.public_key.read_text())
    except OSError as exc:
        message = f"cannot read the public key {src.public_key}: {exc.strerror}"
        raise click.ClickException(message) from None
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"{src.public_key} is not a checkpoint public key: {exc}"
        raise click.ClickException(message) from None
    if not src.archive.is_dir():
        raise click.ClickException(f"{src.archive} is not a directory: no archive there")
    try:
        return verify_archive(src.archive, key, src.log)
    except ArchiveInvalid as exc:
        raise click.ClickException(f"audit archive FAILED verification: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot read the archive: {exc}") from None


def _unprovable_note(result: Verified, log: Path | None) -> str:
    return (
        f"{result.unprovable} entries of {log} after entry {result.newest.seq} are covered by "
        "no checkpoint yet: a truncation after that entry could not be detected "
        f"({result.unprovable} entries unprovable until the next checkpoint)."
    )


@click.group("audit")
def audit_group() -> None:
    """Verify, search and summarise the vault's audit archive."""


@audit_group.command()
@archive_options
@click.option(
    "--vault",
    "expect_vault",
    help="Refuse an archive of any other vault (vlt_…), as its first entry names it.",
)
@click.option(
    "--environment",
    "expect_environment",
    help="Refuse an archive of a vault of any other environment (live, test, …).",
)
def verify(
    as_json: bool, expect_vault: str | None, expect_environment: str | None, **kw: Any
) -> None:
    """Prove the archive whole with the checkpoint public key alone; exit 1 if not.

    Fails on any edited, removed, reordered or added entry, a missing segment or
    checkpoint, a truncation before the newest checkpoint, and an archive with no
    checkpoint. Entries after the newest checkpoint are counted as unprovable.
    """
    src = sources(kw)
    try:
        result = verified(src)
        _whose(result, expect_vault, expect_environment)
    except click.ClickException as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "error": exc.message}))
            raise SystemExit(1) from None
        raise
    newest = result.newest
    if as_json:
        body = {
            "ok": True,
            "entries": len(result.entries),
            "checkpoints": result.checkpoints,
            "newest_checkpoint": {"seq": newest.seq, "hash": newest.hash, "time": newest.time},
            "key": newest.key,
            "vault": result.vault[0] if result.vault else None,
            "environment": result.vault[1] if result.vault else None,
            "unprovable": result.unprovable,
        }
        click.echo(json.dumps(body))
        return
    click.echo(
        f"audit archive OK: entries 1..{newest.seq} in {result.segments} segments, proven by "
        f"{result.checkpoints} signed checkpoints; the newest signed at {newest.time} "
        f"(key {newest.key}), hash {newest.hash}"
    )
    if result.vault:
        click.echo(
            "of vault {}, environment {}, as its first entry names them".format(*result.vault)
        )
    else:
        click.echo("of an unnamed vault: the log's first entry is not the vault's init")
    if result.unprovable:
        click.echo(_unprovable_note(result, src.log))


def _whose(result: Verified, vault: str | None, environment: str | None) -> None:
    """The archive is the named vault's, of the named environment, when they are named: two
    vaults sharing a checkpoint key (a restored copy) would otherwise be interchangeable."""
    found = result.vault or ("unknown", "unknown")
    if vault and found[0] != vault:
        raise click.ClickException(f"this is the archive of vault {found[0]}, not of {vault}")
    if environment and found[1] != environment:
        raise click.ClickException(
            f"this is the archive of a {found[1]} vault, not of a {environment} one"
        )


@audit_group.command()
@click.option("--token", help="A card token (card_…).")
@click.option("--marketplace", help="A marketplace id: its merchants' actions and its cards.")
@click.option("--action", help="tokenize, read, charge, capture, refund, unseal, rotate_key, …")
@click.option("--actor", help="A whole actor, or its kind: merchant, service, operator, custodian.")
@click.option("--since", help="ISO 8601 time or date (UTC), or a span before now: 30m, 24h, 7d.")
@click.option("--until", help="As --since; entries before this time.")
@archive_options
def search(as_json: bool, **kw: Any) -> None:
    """Who accessed which card, when, and with what outcome: verified entries only."""
    now = dt.datetime.now(dt.UTC)
    query = audit_query.Query(
        token=kw["token"],
        marketplace=kw["marketplace"],
        action=kw["action"],
        actor=kw["actor"],
        since=_when(kw["since"], now, "--since"),
        until=_when(kw["until"], now, "--until"),
    )
    src = sources(kw)
    result = verified(src)
    found = audit_query.search(result.entries, query)
    if as_json:
        click.echo(json.dumps({"unprovable": result.unprovable, "data": found}))
        return
    for entry in found:
        click.echo(audit_query.format_entry(entry))
    click.echo(f"{len(found)} entries", err=True)
    if result.unprovable:
        click.echo(_unprovable_note(result, src.log), err=True)


@audit_group.command()
@click.option(
    "--since",
    required=True,
    help="ISO 8601 time or date (UTC), or a span before now: 24h, 7d, 90d.",
)
@archive_options
def report(since: str, as_json: bool, **kw: Any) -> None:
    """Summarise card accesses, key operations, unseals, limit changes and refusals."""
    start = _when(since, dt.datetime.now(dt.UTC), "--since")
    src = sources(kw)
    result = verified(src)
    summary = audit_query.report(result.entries, start)
    summary["verified_through"] = {"seq": result.newest.seq, "time": result.newest.time}
    summary["unprovable"] = result.unprovable
    if as_json:
        click.echo(json.dumps(summary))
        return
    for line in audit_query.format_report(summary):
        click.echo(line)
    click.echo(
        f"Verified through entry {result.newest.seq} (checkpoint of {result.newest.time})"
        + (f"; {result.unprovable} later entries unprovable." if result.unprovable else ".")
    )


def _when(text: str | None, now: dt.datetime, name: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        return audit_query.parse_when(text, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


@audit_group.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@data_dir_option
def export(out: Path, data_dir: Path) -> None:
    """Copy the data dir's live log to OUT (0600), after verifying it against the archive."""
    src = sources({"archive": None, "public_key": None, "log_copy": None, "data_dir": data_dir})
    assert src.log is not None
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise click.ClickException(f"cannot create {out}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f, src.log.open("rb") as log:
        shutil.copyfileobj(log, f)
    try:
        result = verified(Sources(src.archive, src.public_key, out))
    except click.ClickException:
        out.unlink()
        raise
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    click.echo(f"exported {len(result.entries)} entries to {out} (sha256 {digest})")
    click.echo(
        "verify anywhere: strongroom audit verify --archive ARCHIVE --public-key KEY "
        f"--log {out.name}"
    )


@audit_group.command()
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    envvar="STRONGROOM_AUDIT_ARCHIVE_DIR",
    help="The vault's archive dir (segments/, checkpoints/), as VAULT_AUDIT_ARCHIVE_DIR.",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file of the checkpoint public key (base64 or PEM) each checkpoint must verify "
    "under, e.g. DATA_DIR/vault/audit-checkpoint.key.pub.",
)
@click.option(
    "--public-key-text",
    envvar="STRONGROOM_AUDIT_PUBLIC_KEY",
    help="The key itself, as the security team holds it, instead of --public-key.",
)
@click.option("--bucket", required=True, envvar="STRONGROOM_AUDIT_BUCKET", help="The bucket.")
@click.option(
    "--prefix",
    default="services/vault/",
    show_default=True,
    envvar="STRONGROOM_AUDIT_PREFIX",
    help="Key prefix: PREFIX/segments/…, PREFIX/checkpoints/….",
)
@click.option(
    "--endpoint-url",
    envvar="STRONGROOM_AUDIT_S3_ENDPOINT_URL",
    help="An S3-compatible server instead of AWS's S3 endpoint.",
)
@click.option("--region", envvar="AWS_REGION", help="The bucket's region.")
@click.option("--once", is_flag=True, help="One round, then exit (the default).")
@click.option(
    "--every",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    envvar="STRONGROOM_AUDIT_SHIP_EVERY",
    help="A round every SECONDS, until stopped or refused.",
)
def ship(
    archive_dir: Path,
    public_key: Path | None,
    public_key_text: str | None,
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    region: str | None,
    once: bool,
    every: float | None,
) -> None:
    """Upload every closed segment and checkpoint not yet in the bucket, verified, once.

    Each file is checked as `audit verify` checks it and created under PREFIX only if its
    key is new, with its SHA-256. Exit 2 on a refusal (a file that does not verify, a name
    the archive never writes, a link, or another object under an archive key: "AUDIT
    ARCHIVE ALARM" on stderr); 1 on an error a later round may not meet (S3 unreachable).
    """
    # boto3 loads in the shipper's process only, not at every `strongroom` command.
    from botocore.exceptions import BotoCoreError, ClientError

    from strongroom.audit_bucket import S3Bucket

    if once and every is not None:
        raise click.UsageError("--once or --every, not both")
    if (public_key is None) == (public_key_text is None):
        raise click.UsageError("the checkpoint public key: --public-key or --public-key-text")
    if not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise click.BadParameter("a key prefix like services/vault/", param_hint="--prefix")
    target = S3Bucket(bucket, endpoint_url, region)
    cursor = audit_ship.Cursor()
    while True:
        started = time.monotonic()
        try:
            # Read each round: the vault writes its key at its first start, maybe after this.
            key = load_public_key(public_key_text or Path(str(public_key)).read_text())
            done = audit_ship.ship(archive_dir, key, target, prefix, cursor, say=click.echo)
        except (audit_ship.ShipAlarm, ArchiveInvalid) as exc:
            _alarm(str(exc))
        except (
            OSError,
            ValueError,
            audit_ship.BucketUnreadable,
            BotoCoreError,
            ClientError,
        ) as exc:
            # Not the archive's fault: the key not written yet, S3 unreachable or refusing.
            message = f"audit ship round failed: {type(exc).__name__}: {exc}"
            if every is None:
                raise click.ClickException(message) from None
            click.echo(message, err=True)
        else:
            click.echo(
                f"audit ship: {done.uploaded} of {done.files} files uploaded "
                f"({done.bytes_uploaded} bytes), {done.present} already in s3://{bucket}/"
                f"{prefix}, through entry {cursor.seq}, in {time.monotonic() - started:.1f} s"
                + (
                    f"; pending (no checkpoint yet): {', '.join(done.pending)}"
                    if done.pending
                    else ""
                )
            )
            if done.refused:
                _alarm("not shipped: " + "; ".join(done.refused))
        if every is None:
            return
        time.sleep(every)


def _alarm(message: str) -> None:
    """Refuse loudly: the line an alarm watches, then exit 2."""
    click.echo(f"{audit_ship.ALARM}: {message}", err=True)
    raise SystemExit(2)
