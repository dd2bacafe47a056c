"""The data dir: made only by `up` and `init`; every other command refuses one that is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

SECRETS = "secrets.json"


def data_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--data-dir, also from STRONGROOM_DATA_DIR."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("var"),
        show_default=True,
        envvar="STRONGROOM_DATA_DIR",
        show_envvar=True,
        help="The stack's data dir (databases, keys, logs, settings).",
    )(f)


def is_data_dir(path: Path) -> bool:
    return (path / SECRETS).is_file()


def require_data_dir(path: Path) -> Path:
    """`path` if a stack was set up there; else a one-line error, and nothing is created."""
    if not is_data_dir(path):
        what = "does not exist" if not path.exists() else f"has no {SECRETS}"
        raise click.ClickException(
            f"{path} is not a Strongroom data dir ({what}). Check --data-dir, or make one with "
            f"`strongroom init --data-dir {path}` or `strongroom up --data-dir {path}`."
        )
    return path
