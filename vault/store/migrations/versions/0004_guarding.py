"""Guarding the vault: its identity, audit entries owed to the log, an index on guessing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_identity",
        sa.Column("vault_id", sa.String(64), primary_key=True),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("custody", sa.String(16), nullable=False),
        sa.Column("keyring", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "audit_owed",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("token", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(128), nullable=False),
    )
    # Tokenisation counts recent cards sharing a BIN and last four (card guessing).
    op.create_index(
        "ix_cards_bin_last4",
        "cards",
        ["marketplace_id", "livemode", "bin", "last4", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("audit_owed")
    op.drop_table("vault_identity")
    op.drop_index("ix_cards_bin_last4", "cards")
