"""The ruleset an assessment applies: compiled once per version and cached per scope.

Each assessment reads the scope's version row (one indexed lookup); a change made through
any fraud process bumps it, so the next assessment everywhere applies the new rules.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fraud.rules.ruleset import CompiledRule, Ruleset
from fraud.store.drafts import all_drafts
from fraud.store.lists import contents
from fraud.store.models import RulesetState
from fraud.store.rules import live_rules
from fraud.store.scopes import DEFAULT_LISTS


@dataclass(frozen=True)
class Loaded:
    versions: tuple[int, int, int]
    ruleset: Ruleset
    lists: dict[str, frozenset[str]]
    shadows: tuple[Ruleset, ...] = ()  # drafts running beside the live ruleset


EMPTY = Loaded((0, 0, 0), Ruleset(version=0), {alias: frozenset() for alias in DEFAULT_LISTS})


class Rulebook:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._cache: dict[str, Loaded] = {}

    def current(self, scope: str) -> Loaded:
        """The scope's enabled rules and lists as of now; a scope never changed has none."""
        with self._sessions() as session:
            row = session.execute(
                select(
                    RulesetState.version, RulesetState.lists_version, RulesetState.drafts_version
                ).where(RulesetState.scope == scope)
            ).one_or_none()
            if row is None:
                return EMPTY
            versions = (row[0], row[1], row[2])
            cached = self._cache.get(scope)
            if cached is not None and cached.versions == versions:
                return cached
            loaded = self._load(session, scope, versions)
        with self._lock:
            self._cache[scope] = loaded
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
