"""a refund that releases an authorisation says so

Revision ID: 0006
Revises: 0005

A refund of a charge only authorised releases it (a void at the network, nothing
refunded there). It is now kept pending before the void is asked, like any refund, so that
a crash between the void and its record leaves it for the completer; `release` tells the
completer to finish it as a release, never as a refund of captured money. A unique
partial index keeps one release of a charge that has not failed: a second, under another
key, is refused instead of standing as a second refund of the whole charge. Refunds stored
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
    live = sa.text("release AND status <> 'failed'")
    op.create_index(
        "ix_refunds_one_release",
        "refunds",
        ["charge_id"],
        unique=True,
        sqlite_where=live,
        postgresql_where=live,
    )


def downgrade() -> None:
    op.drop_index("ix_refunds_one_release", table_name="refunds")
    with op.batch_alter_table("refunds") as batch:
        batch.drop_column("release")
