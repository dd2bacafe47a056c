"""Engine, sessions and migrations of one API stack's database (by servicekit.sqldb)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine

from servicekit.sqldb import make_engine, migrate_to_head, session_factory

__all__ = ["MIGRATIONS", "make_engine", "migrate", "session_factory", "statement"]

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    migrate_to_head(engine, MIGRATIONS)


@contextmanager
def statement(engine: Engine) -> Iterator[Connection]:
    """A connection for one statement, in autocommit: a single statement is atomic by
    itself, so it needs no BEGIN and no COMMIT (two round trips fewer on PostgreSQL)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection
