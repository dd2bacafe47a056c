"""Guarding the vault: an index to spot card guessing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tokenisation counts recent cards sharing a BIN and last four (card guessing).
    op.create_index(
        "ix_cards_bin_last4",
        "cards",
        ["marketplace_id", "livemode", "bin", "last4", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_cards_bin_last4", "cards")
