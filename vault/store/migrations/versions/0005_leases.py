"""Leases on unfinished work: who is executing a charge, capture, void or refund, until when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("charges", "settlements", "refunds")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("claimed_by", sa.String(32), nullable=True))
        op.add_column(table, sa.Column("lease_until", sa.BigInteger(), nullable=True))
        op.create_index(
            f"ix_{table}_processing",
            table,
            ["lease_until"],
            sqlite_where=sa.text("status = 'processing'"),
            postgresql_where=sa.text("status = 'processing'"),
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_processing", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lease_until")
            batch.drop_column("claimed_by")
