"""Live volume per scope and second, in a ring of 60 slots: the spend caps' minute window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spend_buckets",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("slot", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("second", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
    )
    # The last minute's live charges, counted as vault_operator.limits counts them now.
    for scope in ("marketplace_id", "'*'"):
        recent = (
            "INSERT INTO spend_buckets (scope, slot, second, amount) SELECT %s, created_at %% 60,"
            " created_at, sum(amount) FROM charges WHERE livemode AND created_at > :since"
            " GROUP BY 1, created_at"
        )
        op.execute(sa.text(recent % scope).bindparams(since=int(time.time()) - 60))


def downgrade() -> None:
    op.drop_table("spend_buckets")
