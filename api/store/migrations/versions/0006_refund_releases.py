"""a refund that releases an authorisation says so

Revision ID: 0006
Revises: 0005

A refund of a charge only authorised releases it (a void at the network, nothing
refunded there). It is now kept pending before the void is asked, like any refund, so that
a crash between the void and its record leaves it for the completer; `release` tells the
completer to finish it as a release, never as a refund of captured money. Refunds stored
before this revision were all finished when stored: none is a pending release.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.add_column(
            sa.Column("release", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("release")
