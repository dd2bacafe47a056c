"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("vault.store")


def make_engine(url: str) -> Engine:
    """An engine whose errors never quote bound values (those are ciphertext and key hashes)."""
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        # The card database's directory is private to the vault's user.
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _private(Path(parsed.database))
    # hide_parameters: a failed statement's text in a log or traceback omits its values.
    engine = create_engine(url, hide_parameters=True, pool_pre_ping=not is_sqlite)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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
