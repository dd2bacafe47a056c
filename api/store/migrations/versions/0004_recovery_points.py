"""recovery points of a charge, owners of idempotency claims, process leases

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("charges") as batch:
        batch.add_column(
            sa.Column("recovery_point", sa.String(20), nullable=False, server_default="recorded")
        )
        batch.add_column(sa.Column("recovery_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("recovery", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    charges = sa.table(
        "charges",
        sa.column("status", sa.String),
        sa.column("created", sa.DateTime(timezone=True)),
        sa.column("recovery_point", sa.String),
        sa.column("recovery_at", sa.DateTime(timezone=True)),
    )
    # A charge left pending before recovery points existed is resumed from its start:
    # the completer asks the vault first, so nothing it executed is executed again.
    op.execute(charges.update().values(recovery_at=charges.c.created))
    op.execute(
        charges.update().where(charges.c.status == "pending").values(recovery_point="started")
    )
    with op.batch_alter_table("charges") as batch:
        batch.alter_column("recovery_at", nullable=False)
    op.create_index("ix_charges_recovery", "charges", ["recovery_point", "recovery_at"])
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
    op.create_table(
        "api_leases",
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("api_leases")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("owner")
    op.drop_index("ix_charges_recovery", "charges")
    with op.batch_alter_table("charges") as batch:
        batch.drop_column("revision")
        batch.drop_column("recovery")
        batch.drop_column("recovery_at")
        batch.drop_column("recovery_point")
