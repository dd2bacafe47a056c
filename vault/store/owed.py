"""Audit entries owed to the log: rows of `audit_owed`, written in a caller's transaction
(or statement) for the audit's catch-up to append (vault.audit). Holds no card data."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Connection, TextClause, text

Entry = tuple[str, str, str | None, str]  # an audit entry: actor, action, token, outcome


def owed_names(i: int) -> tuple[str, str, str, str]:
    return f"actor{i}", f"action{i}", f"token{i}", f"outcome{i}"


@functools.cache
def _owing(n: int) -> TextClause:
    """The INSERT of `n` owed entries, compiled once (a multi-row VALUES of a table never is)."""
    rows = ", ".join(f"(:actor{i}, :action{i}, :token{i}, :outcome{i})" for i in range(n))
    into = "INSERT INTO audit_owed (actor, action, token, outcome)"  # placeholders only, below
    return text(f"{into} VALUES {rows} RETURNING id")


def owe(conn: Connection, entries: Sequence[Entry]) -> list[int]:
    """Insert audit entries owed to the log (vault.audit) in one statement; their row ids,
    in the order of `entries`."""
    values = {k: v for i, e in enumerate(entries) for k, v in zip(owed_names(i), e, strict=True)}
    # One INSERT of all the rows (an executemany would be a PostgreSQL pipeline each time).
    return sorted(conn.execute(_owing(len(entries)), values).scalars())  # in VALUES order
