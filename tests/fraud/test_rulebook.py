"""The ruleset cache: this process's changes apply at once, another's within the bound."""

from pathlib import Path

from fraud.rulebook import Rulebook
from fraud.store import rules
from fraud.store.db import make_engine, migrate, session_factory

SCOPE = "test:mkt_abcdefgh"


def test_own_changes_apply_at_once_and_another_processs_within_the_refresh_bound(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'fraud.db'}"
    here, elsewhere = make_engine(url), make_engine(url)  # two processes' engines
    migrate(here)
    mine, theirs = session_factory(here), session_factory(elsewhere)
    now = [100.0]
    book = Rulebook(mine, refresh_seconds=1.0, clock=lambda: now[0])
    assert book.current(SCOPE).ruleset.rules == ()
    with mine.begin() as session:
        rules.create_rule(session, SCOPE, "block if :amount: > 5", None, "test")
    assert len(book.current(SCOPE).ruleset.rules) == 1  # forgotten on commit
    with theirs.begin() as session:
        rules.create_rule(session, SCOPE, "review if :amount: > 3", None, "test")
    now[0] += 0.5
    assert len(book.current(SCOPE).ruleset.rules) == 1  # within the bound: the copy
    now[0] += 0.6
    assert len(book.current(SCOPE).ruleset.rules) == 2  # past it: read again
    here.dispose()
    elsewhere.dispose()


def test_cached_answers_what_current_would_only_while_no_read_is_due(tmp_path: Path) -> None:
    """The event loop takes the copy from `cached`; None sends it to a thread for `current`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fraud.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    now = [100.0]
    book = Rulebook(sessions, refresh_seconds=1.0, clock=lambda: now[0])
    assert book.cached(SCOPE) is None  # never read
    with sessions.begin() as session:
        rules.create_rule(session, SCOPE, "block if :amount: > 5", None, "test")
    loaded = book.current(SCOPE)
    assert book.cached(SCOPE) is loaded
    now[0] += 1.1
    assert book.cached(SCOPE) is None  # due for a check
    assert book.current(SCOPE) is loaded  # the version row unchanged: the same copy
    with sessions.begin() as session:
        rules.create_rule(session, SCOPE, "review if :amount: > 3", None, "test")
    assert book.cached(SCOPE) is None  # forgotten on commit
    assert len(book.current(SCOPE).ruleset.rules) == 2
    engine.dispose()
