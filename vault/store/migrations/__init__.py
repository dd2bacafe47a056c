"""Alembic migrations of the vault database (packages, so that installs carry them)."""
