"""`strongroom backup` and `strongroom restore`: the data directory to a backup directory
and back (strongroom/backup.py says what is in one).

Restore writes the vault's database, keyring and audit log, which only the running vault
may change: it refuses while the vault backed up serves (a second copy of it would also
take the commands signed for the first).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import httpx

from strongroom import backup as backups
from strongroom.devkeys import read_private
from strongroom.stack import Options

PASSPHRASE_ENV = "STRONGROOM_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """From --passphrase-file, else the environment, else asked for (twice when sealing)."""
    if passphrase_file is not None:
        try:  # refused if others may read it, as every secret file is
            return read_private(passphrase_file).rstrip("\n")
        except PermissionError as exc:
            raise click.ClickException(str(exc)) from None
    if os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    entered: str = click.prompt(
        "Backup passphrase", hide_input=True, confirmation_prompt=confirm, err=True
    )
    return entered


DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var"),
    show_default=True,
    help="The stack's data directory.",
)
PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=f"File holding the passphrase sealing the keys (else ${PASSPHRASE_ENV}, else asked).",
)


@click.command("backup")
@click.option(
    "--to",
    "dest",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="New (or empty) directory to write the backup into.",
)
@DATA_DIR
@PASSPHRASE_FILE
def backup_command(dest: Path, data_dir: Path, passphrase_file: Path | None) -> None:
    """Back up the data directory while the stack runs: databases, audit log, sealed keys."""
    try:
        summary = backups.backup(data_dir, dest, _passphrase(passphrase_file, confirm=True))
    except (backups.BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for name, kind in summary.files.items():
        click.echo(f"  {kind:6} {name}")
    audit = "no audit log" if summary.audit is None else f"audit log at entry {summary.audit.seq}"
    click.echo(f"backup written to {dest} ({audit}); keep the passphrase apart from it")


@click.command("restore")
@click.option(
    "--from",
    "src",
    required=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Backup directory made by `strongroom backup`.",
)
@DATA_DIR
@PASSPHRASE_FILE
@click.option(
    "--vault-url",
    envvar="STRONGROOM_VAULT_URL",
    show_envvar=True,
    help="Where the vault backed up serves, if it still does. Default: as `up` recorded it "
    "in the backup, else http://127.0.0.1:8084.",
)
def restore_command(
    src: Path, data_dir: Path, passphrase_file: Path | None, vault_url: str | None
) -> None:
    """Rebuild an absent or empty data directory from a backup; start the stack after.
    Refused while the vault backed up is running: stop it first (`strongroom down`)."""
    try:
        backups.empty_or_absent(data_dir, "data directory")
        opened = backups.open_backup(src, _passphrase(passphrase_file, confirm=False))
        default = Options(data_dir=data_dir)
        url = vault_url or opened.vault_url() or f"http://{default.host}:{default.ports.vault}"
        _refuse_if_serving(url.rstrip("/"), opened.vault_id())
        for path in backups.sweep_abandoned(data_dir):
            click.echo(f"removed {path}: an earlier restore was killed before it finished")
        summary = backups.restore_opened(opened, data_dir)
    except (backups.BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    audit = (
        "no audit log"
        if summary.audit is None
        else f"audit log verified to entry {summary.audit.seq}"
    )
    click.echo(f"restored {len(summary.files)} files into {data_dir} ({audit})")


def _refuse_if_serving(url: str, backed_up: str | None) -> None:
    """A one-line refusal if the vault at `url` answers and is the vault backed up (or
    either id is unknown: fail closed)."""
    try:
        response = httpx.get(f"{url}/healthz", timeout=5)
        health = response.json()
    except (httpx.HTTPError, ValueError):
        return  # nothing serves there, or nothing that is a vault
    if not isinstance(health, dict) or health.get("service") != "vault":
        return
    serving = health.get("vault_id")
    if backed_up is not None and serving is not None and serving != backed_up:
        return  # another vault: restoring writes nothing of its own
    raise click.ClickException(
        f"the vault at {url} is running{'' if serving is None else f' ({serving})'}: "
        "restoring would write its database and keyring behind its back. Stop its stack "
        "first (`strongroom down`)"
    )
