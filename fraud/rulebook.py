"""The ruleset an assessment applies: compiled once per version and cached per scope.

A change bumps the scope's version row. The process that made the change forgets its
copy when the change commits, so its next assessment applies the new rules; the others
re-read the version row at most every `refresh_seconds` (a query per assessment cost more
than the rules themselves), so a change reaches every process within that bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from fraud.rules.ruleset import CompiledRule, Ruleset
from fraud.store.drafts import all_drafts
from fraud.store.lists import contents
from fraud.store.models import RulesetState
from fraud.store.rules import live_rules
from fraud.store.scopes import CHANGED, DEFAULT_LISTS


@dataclass(frozen=True)
class Loaded:
    versions: tuple[int, int, int]
    ruleset: Ruleset
    lists: dict[str, frozenset[str]]
    shadows: tuple[Ruleset, ...] = ()  # drafts running beside the live ruleset


EMPTY = Loaded((0, 0, 0), Ruleset(version=0), {alias: frozenset() for alias in DEFAULT_LISTS})


class Rulebook:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        refresh_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._refresh = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, Loaded] = {}
        self._checked: dict[str, float] = {}  # scope -> when its version row was last read
        self._forgotten = 0  # bumped by each forget: a read that raced one is not trusted
        event.listen(sessions, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        for scope in session.info.pop(CHANGED, ()):
            self.forget(scope)

    def forget(self, scope: str) -> None:
        """The next assessment of `scope` reads its version row again."""
        with self._lock:
            self._checked.pop(scope, None)
            self._forgotten += 1

    def cached(self, scope: str) -> Loaded | None:
        """What `current` answers when that needs no read of the store; else None."""
        cached = self._cache.get(scope)
        checked = self._checked.get(scope)
        if cached is not None and checked is not None and self._clock() - checked < self._refresh:
            return cached
        return None

    def current(self, scope: str) -> Loaded:
        """The scope's enabled rules and lists as of now; a scope never changed has none."""
        now, forgotten = self._clock(), self._forgotten
        cached = self._cache.get(scope)
        checked = self._checked.get(scope)
        if cached is not None and checked is not None and now - checked < self._refresh:
            return cached
        with self._sessions() as session:
            row = session.execute(
                select(
                    RulesetState.version, RulesetState.lists_version, RulesetState.drafts_version
                ).where(RulesetState.scope == scope)
            ).one_or_none()
            if row is None:
                loaded = EMPTY
            else:
                versions = (row[0], row[1], row[2])
                if cached is not None and cached.versions == versions:
                    loaded = cached
                else:
                    loaded = self._load(session, scope, versions)
        with self._lock:
            self._cache[scope] = loaded
            if forgotten == self._forgotten:
                self._checked[scope] = now
        return loaded

    @staticmethod
    def _load(session: Session, scope: str, versions: tuple[int, int, int]) -> Loaded:
        state = session.get_one(RulesetState, scope)
        rules = tuple(
            CompiledRule.from_text(rule.id, rule.predicate)
            for rule in live_rules(session, scope)
            if rule.enabled
        )
        _, lists = contents(session, scope)
        ruleset = Ruleset(
            version=versions[0], rules=rules, review_at=state.review_at, block_at=state.block_at
        )
        shadows = tuple(
            Ruleset(
                version=versions[0],
                rules=tuple(
                    CompiledRule.from_text(f"{draft.id}:{n}", p)
                    for n, p in enumerate(draft.predicates, 1)
                ),
                review_at=draft.review_at,
                block_at=draft.block_at,
                id=draft.id,
            )
            for draft in all_drafts(session, scope)
            if draft.shadow
        )
        return Loaded(versions, ruleset, lists, shadows)
