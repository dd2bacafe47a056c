"""The fraud service's tables: rules and their history, value lists, recorded decisions.

Everything is kept per scope, "<mode>:<marketplace>": test mode has rules and lists of its
own, so a merchant tries a rule in test before live. No card number is ever stored here:
cards are known by fingerprint, BIN and last four.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fraud import contracts
from fraud.rules.nodes import Action

Id = Annotated[str, mapped_column(String(64), primary_key=True)]
Scope = Annotated[str, mapped_column(String(80), index=True)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class RulesetState(Base):
    """A scope's live ruleset: its version, bumped by every change, and its thresholds."""

    __tablename__ = "rulesets"

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    # Bumped by every list change: assessments reload what they cached when it moves.
    lists_version: Mapped[int] = mapped_column(default=0)
    review_at: Mapped[int] = mapped_column(default=65)
    block_at: Mapped[int] = mapped_column(default=75)
    # Bumped when a draft ruleset starts or stops running in shadow.
    drafts_version: Mapped[int] = mapped_column(default=0)
    # How long a review may stay open, and how it then closes; None: the API stack's default.
    review_timeout_seconds: Mapped[int | None] = mapped_column(default=None)
    review_timeout_action: Mapped[contracts.ReviewTimeoutAction | None] = mapped_column(
        String(8), default=None
    )


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[Id]
    scope: Mapped[Scope]
    action: Mapped[Action] = mapped_column(String(16))
    predicate: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RuleChange(Base):
    """The append-only history: which version each change made, and who made it."""

    __tablename__ = "rule_changes"
    __table_args__ = (Index("ix_rule_changes_scope_version", "scope", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(80))
    version: Mapped[int]
    rule_id: Mapped[str | None] = mapped_column(String(64))
    change: Mapped[contracts.RuleChangeKind] = mapped_column(String(16))
    predicate: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool | None]
    actor: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DraftRuleset(Base):
    """A ruleset under trial: backtested offline, or run in shadow beside the live one,
    where it decides nothing and its decisions are recorded under its id."""

    __tablename__ = "draft_rulesets"

    id: Mapped[Id]
    scope: Mapped[Scope]
    name: Mapped[str] = mapped_column(String(200))
    predicates: Mapped[list[Any]]
    review_at: Mapped[int]
    block_at: Mapped[int]
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ValueList(Base):
    __tablename__ = "value_lists"
    __table_args__ = (UniqueConstraint("scope", "alias"),)

    id: Mapped[Id]
    scope: Mapped[Scope]
    alias: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    item_type: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ValueListItem(Base):
    __tablename__ = "value_list_items"
    __table_args__ = (UniqueConstraint("list_id", "value"),)

    id: Mapped[Id]
    list_id: Mapped[str] = mapped_column(ForeignKey("value_lists.id"), index=True)
    value: Mapped[str] = mapped_column(String(800))
    created_by: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Decision(Base):
    """One assessment: the ruleset version, each rule's result, the attribute values as
    they were, the score and the decision. Backtests replay these."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_scope_created", "scope", "created"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(80))
    charge_id: Mapped[str] = mapped_column(String(64), index=True)
    # "live" for the decision that counted; a draft ruleset's id for a shadow decision.
    ruleset: Mapped[str] = mapped_column(String(64), default="live")
    ruleset_version: Mapped[int]
    decision: Mapped[contracts.Decision] = mapped_column(String(16))
    score: Mapped[int]
    rule_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(2200))
    results: Mapped[list[Any]]
    attributes: Mapped[dict[str, Any]]
    # Which attributes' values were in which value list, as the lists stood then: a
    # backtest judges `in @list` by these, not by today's lists.
    memberships: Mapped[dict[str, Any]]
    created: Mapped[dt.datetime] = mapped_column(default=utcnow)
