"""A scope's ruleset row and its default value lists, created on first use."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    state = _locked(session, scope)
    if state is None:
        # Made with ON CONFLICT DO NOTHING: a lock cannot be taken on a row that does not
        # exist yet, so first requests of a new scope at once would each insert it, and all
        # but one fail on its unique scope. The one whose row it is adds the default lists.
        dialect = session.get_bind().dialect.name
        insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
        values = {"scope": scope, "version": 0, "lists_version": 0, "drafts_version": 0}
        made = session.execute(
            insert_(RulesetState)
            .values(**values, review_at=65, block_at=75)
            .on_conflict_do_nothing(index_elements=["scope"])
        )
        if made.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult
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
        state = _locked(session, scope)
        assert state is not None  # ours, or the one another request made first
    return state


def _locked(session: Session, scope: str) -> RulesetState | None:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE, and its driver begins a transaction only at the first
        # write: this write (changing nothing) takes the database's one write lock now,
        # held to commit, so the row read next is the newest and no other change reads it
        # until this one is done (others wait, up to the engine's busy timeout).
        session.execute(
            update(RulesetState)
            .where(RulesetState.scope == scope)
            .values(version=RulesetState.version)
            .execution_options(synchronize_session=False)
        )
    query = (
        select(RulesetState)
        .where(RulesetState.scope == scope)
        .with_for_update()
        .execution_options(populate_existing=True)  # not a copy read before the lock
    )
    return session.scalars(query).one_or_none()
