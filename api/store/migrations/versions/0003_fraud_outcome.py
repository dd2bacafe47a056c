"""fraud outcome of a charge: its risk level and the rule that decided

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


def downgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("fraud_rule")
        batch.drop_column("fraud_risk_level")
