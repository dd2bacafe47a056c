"""Alembic environment: uses the connection that vault.store.migrate passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from vault.store.models import Base

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
