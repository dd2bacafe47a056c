"""A scope's ruleset row and its default value lists, created on first use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fraud.ids import new_id
from fraud.store.models import RulesetState, ValueList

# Every scope has these, empty until the merchant fills them.
DEFAULT_LISTS: dict[str, tuple[str, str]] = {
    "blocked_cards": ("card_fingerprint", "Blocked cards"),
    "trusted_cards": ("card_fingerprint", "Trusted cards"),
    "blocked_emails": ("email", "Blocked emails"),
    "blocked_ips": ("ip_address", "Blocked IP addresses"),
}
# session.info key: the scopes whose ruleset row this transaction took (and may change);
# the Rulebook forgets its copy of them when the transaction commits.
CHANGED = "fraud_scopes_changed"


def scope_state(session: Session, scope: str) -> RulesetState:
    """The scope's ruleset row, locked for this transaction (so versions never repeat)."""
    session.info.setdefault(CHANGED, set()).add(scope)
    state = session.scalars(
        select(RulesetState).where(RulesetState.scope == scope).with_for_update()
    ).one_or_none()
    if state is None:
        state = RulesetState(
            scope=scope, version=0, lists_version=0, drafts_version=0, review_at=65, block_at=75
        )
        session.add(state)
        for alias, (item_type, name) in DEFAULT_LISTS.items():
            session.add(
                ValueList(
                    id=new_id("rsl"),
                    scope=scope,
                    alias=alias,
                    name=name,
                    item_type=item_type,
                    created_by="strongroom",
                )
            )
        session.flush()
    return state
