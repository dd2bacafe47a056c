"""Draft rulesets of a scope, and the summary of their shadow decisions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from fraud.ids import new_id
from fraud.store.models import Decision, DraftRuleset
from fraud.store.rules import checked_action
from fraud.store.scopes import scope_state
from servicekit import NotFound, ServiceError


def create_draft(
    session: Session,
    scope: str,
    name: str,
    predicates: list[str],
    review_at: int | None,
    block_at: int | None,
    shadow: bool,
    actor: str,
) -> DraftRuleset:
    """A draft whose every rule checks as a live one would; in shadow from now on if asked."""
    state = scope_state(session, scope)
    for predicate in predicates:
        checked_action(session, scope, predicate)
    review = state.review_at if review_at is None else review_at
    block = state.block_at if block_at is None else block_at
    if review > block:
        raise ServiceError("review_at may not exceed block_at.", param="review_at")
    draft = DraftRuleset(
        id=new_id("rs"),
        scope=scope,
        name=name,
        predicates=predicates,
        review_at=review,
        block_at=block,
        shadow=shadow,
        created_by=actor,
    )
    session.add(draft)
    session.flush()
    if shadow:
        state.drafts_version += 1
    return draft


def get_draft(session: Session, scope: str, draft_id: str) -> DraftRuleset:
    draft = session.get(DraftRuleset, draft_id)
    if draft is None or draft.scope != scope:
        raise NotFound(f"No such ruleset: '{draft_id}'.", param="id")
    return draft


def set_shadow(session: Session, scope: str, draft_id: str, shadow: bool) -> DraftRuleset:
    draft = get_draft(session, scope, draft_id)
    if draft.shadow != shadow:
        draft.shadow = shadow
        scope_state(session, scope).drafts_version += 1
    return draft


def all_drafts(session: Session, scope: str) -> list[DraftRuleset]:
    return list(
        session.scalars(
            select(DraftRuleset).where(DraftRuleset.scope == scope).order_by(DraftRuleset.created)
        )
    )


def shadow_summary(session: Session, scope: str, draft_id: str, sample: int = 20) -> dict[str, Any]:
    """Where the draft's shadow decisions differed from the live ones, charge by charge."""
    get_draft(session, scope, draft_id)
    live, shadow = aliased(Decision), aliased(Decision)
    rows = session.execute(
        select(shadow.charge_id, live.decision, shadow.decision)
        .join(live, (live.charge_id == shadow.charge_id) & (live.ruleset == "live"))
        .where(shadow.scope == scope, shadow.ruleset == draft_id, live.scope == scope)
        .order_by(shadow.id)
    ).all()
    latest = {charge: (was, would) for charge, was, would in rows}
    pairs = Counter(latest.values())
    differing = [c for c, (was, would) in latest.items() if was != would]
    return {
        "object": "fraud.shadow_summary",
        "ruleset": draft_id,
        "charges": len(latest),
        "differing": len(differing),
        "by_decision": [
            {"live": was, "shadow": would, "count": count}
            for (was, would), count in sorted(pairs.items())
        ],
        "examples": differing[-sample:],
    }
