"""`strongroom backup` and `strongroom restore`: the data directory to a backup directory
and back (strongroom/backup.py says what is in one)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from strongroom import backup as backups

PASSPHRASE_ENV = "STRONGROOM_BACKUP_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    """From --passphrase-file, else the environment, else asked for (twice when sealing)."""
    if passphrase_file is not None:
        return passphrase_file.read_text(encoding="utf-8").rstrip("\n")
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
def restore_command(src: Path, data_dir: Path, passphrase_file: Path | None) -> None:
    """Rebuild an absent or empty data directory from a backup; start the stack after."""
    try:
        summary = backups.restore(src, data_dir, _passphrase(passphrase_file, confirm=False))
    except (backups.BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    audit = (
        "no audit log"
        if summary.audit is None
        else f"audit log verified to entry {summary.audit.seq}"
    )
    click.echo(f"restored {len(summary.files)} files into {data_dir} ({audit})")
