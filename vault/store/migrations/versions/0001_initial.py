"""Initial schema: merchant keys, cards, charges.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_keys",
        sa.Column("key_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_merchant_keys_marketplace_id", "merchant_keys", ["marketplace_id"])
    op.create_table(
        "cards",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("brand", sa.String(16), nullable=False),
        sa.Column("bin", sa.String(6), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("exp_month", sa.SmallInteger(), nullable=False),
        sa.Column("exp_year", sa.SmallInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("pan_nonce", sa.LargeBinary(), nullable=False),
        sa.Column("pan_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("cvc_nonce", sa.LargeBinary(), nullable=True),
        sa.Column("cvc_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_cards_marketplace_id", "cards", ["marketplace_id"])
    op.create_index("ix_cards_fingerprint", "cards", ["fingerprint"])
    op.create_table(
        "charges",
        sa.Column("charge_id", sa.String(64), primary_key=True),
        sa.Column("token", sa.String(64), sa.ForeignKey("cards.token"), nullable=False),
        sa.Column("marketplace_id", sa.String(64), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("authorization_code", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_charges_token", "charges", ["token"])


def downgrade() -> None:
    op.drop_table("charges")
    op.drop_table("cards")
    op.drop_table("merchant_keys")
