"""Settlement: one capture or void per charge, refunds by id, merchant key expiry.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchant_keys") as batch:
        batch.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "settlements",
        sa.Column("charge_id", sa.String(64), sa.ForeignKey("charges.charge_id"), primary_key=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.String(64), primary_key=True),
        sa.Column("charge_id", sa.String(64), sa.ForeignKey("charges.charge_id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_refunds_charge_id", "refunds", ["charge_id"])


def downgrade() -> None:
    op.drop_table("refunds")
    op.drop_table("settlements")
    with op.batch_alter_table("merchant_keys") as batch:
        batch.drop_column("expires_at")
