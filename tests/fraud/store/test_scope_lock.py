"""A scope's ruleset row is locked for the transaction that takes it, on both stores: its
versions are read and written back, so two changes at once must not both read the same
one (PostgreSQL's FOR UPDATE; SQLite, which ignores FOR UPDATE, takes its write lock)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from fraud.store.db import make_engine, migrate, session_factory
from fraud.store.models import RuleChange, RulesetState
from fraud.store.rules import create_rule
from fraud.store.scopes import scope_state

WRITERS = 8


def test_read_then_written_versions_lose_no_change(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        with sessions.begin() as session:
            scope_state(session, "mkt_lock:test")  # the row exists; each writer then reads it
        start = threading.Barrier(WRITERS)
        failures: list[BaseException] = []

        def change() -> None:
            try:
                start.wait()
                with sessions.begin() as session:
                    state = scope_state(session, "mkt_lock:test")
                    seen = state.drafts_version
                    time.sleep(0.02)  # another writer, unlocked, would read `seen` too
                    state.drafts_version = seen + 1
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=change) for _ in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with sessions() as session:
            version = session.scalars(
                select(RulesetState.drafts_version).where(RulesetState.scope == "mkt_lock:test")
            ).one()
        assert version == WRITERS
    finally:
        engine.dispose()


def test_rule_changes_at_once_record_distinct_versions(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        sessions = session_factory(engine)
        start = threading.Barrier(WRITERS)
        failures: list[BaseException] = []

        def add(n: int) -> None:
            try:
                start.wait()
                with sessions.begin() as session:
                    create_rule(session, "mkt_lock:live", f"block if :amount: > {n}", None, "ops")
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=add, args=(n,)) for n in range(WRITERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        with sessions() as session:
            versions = sorted(
                session.scalars(
                    select(RuleChange.version).where(RuleChange.scope == "mkt_lock:live")
                )
            )
        assert versions == list(range(1, WRITERS + 1))
    finally:
        engine.dispose()
