"""a rolled webhook secret may keep signing beside the new one until a moment

Revision ID: 0007
Revises: 0006

`POST /v1/webhook_endpoints/{id}/roll` takes `expires_in` (at most 24 hours, as Stripe's
dashboard allows): until `previous_secret_expires_at`, each delivery is signed with the
old secret (version - 1, derived as every secret is, never stored) as well as the new.
Endpoints stored before this revision have no old secret signing: NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("previous_secret_expires_at")
