"""The shared engine on PostgreSQL: a pooled connection that died while idle is replaced."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from servicekit import sqldb
from tests.conftest import PG_ADMIN


def _backend(engine: object) -> int:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def test_an_idle_connection_killed_by_the_database_is_replaced_at_checkout(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqldb.make_engine(pg_url)
    try:
        first = _backend(engine)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        monkeypatch.setattr(sqldb, "IDLE_PING_SECONDS", 0.0)  # it has sat idle long enough
        second = _backend(engine)  # pinged, found dead, replaced: no error reaches us
        assert second != first
        assert _backend(engine) == second  # the new one is kept in the pool
    finally:
        engine.dispose()
