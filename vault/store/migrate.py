"""Runs the Alembic migrations in vault/store/migrations programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade_to_head(engine: Engine) -> None:
    """Bring the database to the newest schema, in one transaction."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        # env.py takes this connection instead of building its own from an ini file.
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
