"""Engine, sessions and migrations of the fraud service's database (by servicekit.sqldb)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from servicekit.sqldb import make_engine, migrate_to_head, session_factory

__all__ = ["MIGRATIONS", "make_engine", "migrate", "session_factory"]

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    migrate_to_head(engine, MIGRATIONS)
