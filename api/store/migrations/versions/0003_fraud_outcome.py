"""fraud outcome of a charge (its risk level, the rule that decided), and reviews

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("fraud_risk_level", sa.String(16), nullable=True))
        batch.add_column(sa.Column("fraud_rule", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("review_id", sa.String(64), nullable=True))
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False),
        sa.Column("charge_id", sa.String(64), sa.ForeignKey("charges.id"), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=True),
        sa.Column("closed_reason", sa.String(32), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reviews_charge_id", "reviews", ["charge_id"])
    op.create_index("ix_reviews_open", "reviews", ["marketplace_id", "open", "created"])


def downgrade() -> None:
    op.drop_table("reviews")
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("review_id")
        batch.drop_column("fraud_rule")
        batch.drop_column("fraud_risk_level")
