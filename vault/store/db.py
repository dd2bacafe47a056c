"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("vault.store")


def make_engine(url: str) -> Engine:
    """An engine whose errors never quote bound values (those are ciphertext and key hashes)."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    in_memory = is_sqlite and (not parsed.database or parsed.database == ":memory:")
    if is_sqlite and not in_memory and parsed.database:
        # The card database's directory is private to the vault's user.
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(Path(parsed.database))
    # hide_parameters: a failed statement's text in a log or traceback omits its values.
    # A pool as large as the requests served at once (the worker threads), so that none
    # opens and closes a connection of its own; LIFO, so that the few connections a light
    # load needs stay warm and the rest idle.
    # (An in-memory SQLite database is one connection per thread: no pool to size.)
    pool: dict[str, Any] = {}
    if not in_memory:
        pool = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_use_lifo": True}
    engine = create_engine(url, hide_parameters=True, **pool)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "connect", _fresh)
        event.listen(engine, "checkin", _fresh)
        event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


POOL_SIZE = 20
POOL_OVERFLOW = 30
# A connection idle longer than this is pinged before use (a restarted server or a dropped
# TCP connection is found then, not by the request); one in steady use is not: a ping per
# checkout was a round trip per statement group of every request.
IDLE_PING_SECONDS = 2.0


def _fresh(dbapi_connection: Any, connection_record: Any) -> None:
    connection_record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    def checkout(dbapi_connection: Any, connection_record: Any, proxy: Any) -> None:
        idle_since = connection_record.info.get("idle_since", 0.0)
        if time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception:
            # The pool drops this connection and checks out another (a fresh one if need be).
            raise exc.DisconnectionError() from None

    return checkout


def _private(database: Path) -> None:
    """The database file private from birth (0600); SQLite gives its WAL and shared-memory
    files the database file's mode, so they are private too."""
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            path.chmod(0o600)  # a file made before this rule


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed card or charge survives power loss
    cursor.execute("PRAGMA secure_delete=ON")  # a destroyed CVC is zeroed, not left in free pages
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # concurrent writers wait instead of failing
    cursor.close()


def erase_freed(engine: Engine) -> None:
    """SQLite: move the WAL into the database file and truncate it to nothing.

    secure_delete zeroes deleted bytes in the database file, but the WAL still holds the
    pages as they were written (a CVC's ciphertext among them) until it is reset. On
    PostgreSQL a deleted value stays in its table's dead tuples until VACUUM (docs/vault.md).
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").scalar()
    if busy:
        # A reader kept an old snapshot: the next destruction or sweep truncates it.
        log.warning("the WAL could not be truncated now (a reader was busy)")


def autocommit(engine: Engine) -> Engine:
    """`engine` (its pool shared) sending each statement on its own, outside a transaction:
    for a single statement, no BEGIN and COMMIT round trips around it."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One session per unit of work; objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def upsert(
    conn: Connection,
    table: Any,
    values: dict[str, Any],
    *,
    key: str,
    only_if_greater: str | None = None,
) -> None:
    """Insert a row, or update the row with the same `key`; with `only_if_greater`, only
    when that column grows (a concurrent writer may have moved it further already)."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(table).values(**values)
    changes = {column: statement.excluded[column] for column in values if column != key}
    where = None
    if only_if_greater is not None:
        where = table.c[only_if_greater] < statement.excluded[only_if_greater]
    conn.execute(statement.on_conflict_do_update(index_elements=[key], set_=changes, where=where))
