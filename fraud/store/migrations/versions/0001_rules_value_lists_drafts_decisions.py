"""rules, value lists, drafts, decisions

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("charge_id", sa.String(length=64), nullable=False),
        sa.Column("ruleset", sa.String(length=64), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=2200), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("memberships", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index("ix_decisions_scope_created", ["scope", "created"], unique=False)

    op.create_table(
        "draft_rulesets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("predicates", sa.JSON(), nullable=False),
        sa.Column("review_at", sa.Integer(), nullable=False),
        sa.Column("block_at", sa.Integer(), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("draft_rulesets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_rulesets_scope"), ["scope"], unique=False)

    op.create_table(
        "rule_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("predicate", sa.String(length=2000), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.create_index("ix_rule_changes_scope_version", ["scope", "version"], unique=False)

    op.create_table(
        "rules",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("predicate", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rules_scope"), ["scope"], unique=False)

    op.create_table(
        "rulesets",
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("lists_version", sa.Integer(), nullable=False),
        sa.Column("review_at", sa.Integer(), nullable=False),
        sa.Column("block_at", sa.Integer(), nullable=False),
        sa.Column("drafts_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "value_lists",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("item_type", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "alias"),
    )
    with op.batch_alter_table("value_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_value_lists_scope"), ["scope"], unique=False)

    op.create_table(
        "value_list_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("list_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=800), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["value_lists.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id", "value"),
    )
    with op.batch_alter_table("value_list_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_value_list_items_list_id"), ["list_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("value_list_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_value_list_items_list_id"))

    op.drop_table("value_list_items")
    with op.batch_alter_table("value_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_value_lists_scope"))

    op.drop_table("value_lists")
    op.drop_table("rulesets")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rules_scope"))

    op.drop_table("rules")
    with op.batch_alter_table("rule_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_changes_scope_version")

    op.drop_table("rule_changes")
    with op.batch_alter_table("draft_rulesets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_draft_rulesets_scope"))

    op.drop_table("draft_rulesets")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_scope_created")
        batch_op.drop_index(batch_op.f("ix_decisions_charge_id"))

    op.drop_table("decisions")
