"""idempotency keys stored as their SHA-256 digests

Revision ID: 0005
Revises: 0004

A merchant chooses its keys, and may put anything in one, a card number included: the
API needs a key only to find it again, so it keeps its digest (api.idempotency). The keys
already stored are digested in place, so a retry across the upgrade still finds its
request. One way: a digest cannot be turned back into its key, so the downgrade leaves
the digests, and a retry of a request made before the downgrade runs it anew.
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

keys = sa.table("idempotency_keys", sa.column("id", sa.Integer), sa.column("key", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(keys.c.id, keys.c.key)).all()
    if rows:
        connection.execute(
            keys.update().where(keys.c.id == sa.bindparam("row")).values(key=sa.bindparam("k")),
            [{"row": i, "k": hashlib.sha256(k.encode()).hexdigest()} for i, k in rows],
        )


def downgrade() -> None:
    pass
