"""Draft rulesets of a scope, and the summary of their shadow decisions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from fraud.ids import new_id
from fraud.store.models import Decision, DraftRuleset
from fraud.store.rules import checked_action
from fraud.store.scopes import scope_state
from servicekit import NotFound, ServiceError

# Each draft in shadow adds a decision row to every assessment of its scope, on a queue all
# scopes share: a handful is enough to try rules on, and no scope can fill it for others.
MAX_IN_SHADOW = 5
# Drafts kept per scope (each holds up to its rules' worth of predicates).
MAX_DRAFTS = 100


def _limit(session: Session, scope: str, shadow_only: bool) -> None:
    """Counted once the change is flushed, so with the write held: on SQLite, where FOR
    UPDATE locks nothing, two requests at once cannot both count below the limit."""
    query = select(func.count()).select_from(DraftRuleset).where(DraftRuleset.scope == scope)
    if shadow_only:
        query = query.where(DraftRuleset.shadow.is_(True))
    count = session.scalar(query) or 0
    if shadow_only and count > MAX_IN_SHADOW:
        raise ServiceError(
            f"At most {MAX_IN_SHADOW} draft rulesets run in shadow at once: stop one first.",
            code="shadow_limit_reached",
            param="shadow",
        )
    if not shadow_only and count > MAX_DRAFTS:
        raise ServiceError(
            f"A scope keeps at most {MAX_DRAFTS} draft rulesets: delete one first.",
            code="draft_limit_reached",
        )


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
    _limit(session, scope, shadow_only=False)
    if shadow:
        _limit(session, scope, shadow_only=True)
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
        state = scope_state(session, scope)
        draft.shadow = shadow
        session.flush()
        if shadow:
            _limit(session, scope, shadow_only=True)
        state.drafts_version += 1
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
