"""merchant API: customers, refunds, capture, webhooks, key expiry, idempotency locks

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", TS, nullable=True))

    with op.batch_alter_table("charges") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("capture", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        for column in ("amount_captured", "amount_refunded", "refund_reserved"):
            batch.add_column(sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))
        batch.create_index("ix_charges_customer_id", ["customer_id"])
    # Before this revision a succeeded charge was captured in full.
    op.execute("UPDATE charges SET amount_captured = amount WHERE status = 'succeeded'")

    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("locked_at", TS, nullable=True))
        batch.create_index("ix_idempotency_keys_created", ["created"])

    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False, index=True),
        sa.Column("email", sa.String(512), nullable=True),
        sa.Column("name", sa.String(256), nullable=True),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("default_card", sa.String(64), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False, index=True),
    )
    op.create_table(
        "customer_cards",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False, index=True),
        sa.Column(
            "customer_id",
            sa.String(64),
            sa.ForeignKey("customers.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("brand", sa.String(16), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created", TS, nullable=False, index=True),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False, index=True),
        sa.Column(
            "charge_id", sa.String(64), sa.ForeignKey("charges.id"), nullable=False, index=True
        ),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_code", sa.String(64), nullable=True),
        sa.Column("failure_message", sa.String(500), nullable=True),
        sa.Column("created", TS, nullable=False, index=True),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("description", sa.String(1000), nullable=True),
        sa.Column("enabled_events", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created", TS, nullable=False, index=True),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("marketplace_id", sa.String(64), nullable=False, index=True),
        sa.Column(
            "endpoint_id",
            sa.String(64),
            sa.ForeignKey("webhook_endpoints.id"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "event_id", sa.String(64), sa.ForeignKey("events.id"), nullable=False, index=True
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created", TS, nullable=False, index=True),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("refunds")
    op.drop_table("customer_cards")
    op.drop_table("customers")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_index("ix_idempotency_keys_created")
        batch.drop_column("locked_at")
    with op.batch_alter_table("charges") as batch:
        batch.drop_index("ix_charges_customer_id")
        for column in ("refund_reserved", "amount_refunded", "amount_captured", "capture"):
            batch.drop_column(column)
        batch.drop_column("customer_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
