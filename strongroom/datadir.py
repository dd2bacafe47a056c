"""The data dir: made only by `up` and `init`; every other command refuses one that is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from strongroom.devkeys import DevSecrets, load_or_create, read_private, replace_private
from strongroom.stack import Options, Ports

SECRETS = "secrets.json"
STACK = "stack.json"  # the settings `up` ran with: database URLs, counters URL, ports, …


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


RECORDED = "Default: as recorded by the last `up`, else"


def database_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A SQLAlchemy URL, checked now: a bad one is a one-line error, not a traceback later."""
    if value is None:
        return None
    try:
        url = make_url(value)
    except ArgumentError:
        raise click.BadParameter("not a database URL (sqlite:///FILE or postgresql://…)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise click.BadParameter("only sqlite:// and postgresql:// databases are supported")
    return value


def database_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The stack's databases, for commands that read or write them."""
    for name, what in reversed(
        [("vault", "Vault"), ("api-test", "Test API stack"), ("api-live", "Live API stack")]
    ):
        f = click.option(
            f"--{name}-database-url",
            envvar=f"STRONGROOM_{name.replace('-', '_').upper()}_DATABASE_URL",
            show_envvar=True,
            callback=database_url,
            help=f"{what} database. {RECORDED} SQLite in the data dir.",
        )(f)
    return f


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


def init(path: Path) -> DevSecrets:
    """Make `path` a data dir (its secrets, mode 0600), or keep the one there.

    A data dir made before a secret existed gets that secret added (the operator key, the
    admin credential); no secret it has is ever changed.
    """
    try:
        return load_or_create(path)  # a secret the dir lacks is added (devkeys)
    except OSError as exc:
        raise click.ClickException(f"cannot make a data dir at {path}: {exc.strerror}") from None


def secrets_of(path: Path) -> DevSecrets:
    """The secrets of an existing data dir; a one-line error if it is not one or they are bad."""
    require_data_dir(path)
    try:
        return DevSecrets.model_validate(json.loads(read_private(path / SECRETS)))
    except PermissionError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot read {path / SECRETS}: {exc.strerror}") from None
    except (ValueError, ValidationError):
        raise click.ClickException(
            f"{path / SECRETS} is damaged: not the secrets of a stack"
        ) from None


def recorded(path: Path) -> Options:
    """The stack's settings as `up` recorded them in the data dir (defaults if never up)."""
    file = path / STACK
    if not file.exists():
        return Options(data_dir=path)
    try:
        body = json.loads(read_private(file))
        return Options(**{**body, "data_dir": path, "ports": Ports(**body.get("ports", {}))})
    except PermissionError as exc:
        raise click.ClickException(str(exc)) from None
    except (OSError, ValueError, TypeError):
        raise click.ClickException(
            f"{file} is damaged: delete it and run `strongroom up`"
        ) from None


def record(opts: Options) -> None:
    """Write the stack's settings (database URLs may hold passwords: 0600), replacing any."""
    body = {k: v for k, v in asdict(opts).items() if k != "data_dir"}
    replace_private(opts.data_dir / STACK, json.dumps(body, indent=2, sort_keys=True) + "\n")
