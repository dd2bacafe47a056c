"""Spend controls, operator commands, audit anchors; indexes for rewrap, CVC sweep, limits.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    controls = op.create_table(
        "spend_controls",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("breaker_open", sa.Boolean(), nullable=False),
        sa.Column("tripped", sa.String(16), nullable=True),
        sa.Column("minute_cap", sa.BigInteger(), nullable=True),
        sa.Column("total_cap", sa.BigInteger(), nullable=True),
        sa.Column("total_spent", sa.BigInteger(), nullable=False),
    )
    # The global row exists from the start: live charges lock it to be counted one at a time.
    op.bulk_insert(controls, [{"scope": "*", "breaker_open": False, "total_spent": 0}])
    op.create_table(
        "operator_commands",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "audit_anchors",
        sa.Column("chain", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_cards_key_version", "cards", ["key_version"])
    kept = sa.text("cvc_ciphertext IS NOT NULL")
    op.create_index(
        "ix_cards_cvc_kept", "cards", ["created_at"], sqlite_where=kept, postgresql_where=kept
    )
    op.create_index("ix_charges_live_created", "charges", ["livemode", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_charges_live_created", "charges")
    op.drop_index("ix_cards_cvc_kept", "cards")
    op.drop_index("ix_cards_key_version", "cards")
    op.drop_table("audit_anchors")
    op.drop_table("operator_commands")
    op.drop_table("spend_controls")
