"""The session-end check of issue 16: after the whole run, no card number in any API
stack's data the suite created (tests/helpers/scan.py says what is scanned and how).

SQLite files and logs are scanned below the session's base temporary folder when the
session ends (the session's stacks have stopped by then); a PostgreSQL database is
scanned when tests.conftest.drop_database drops it. Any hit fails the session (exit
status 1) with the file or table and the byte offset; the card is named by its last
four digits only.
"""

from __future__ import annotations

import time

import pytest

from tests.helpers.scan import Hit, scan_postgres, scan_tree

_found: list[Hit] = []
_cost = {"seconds": 0.0, "files": 0, "databases": 0}


def before_drop(sqlalchemy_url: str) -> None:
    """Scan a test database about to be dropped, if it is an API stack's."""
    started = time.perf_counter()
    name = sqlalchemy_url.rsplit("/", 1)[1]
    conninfo = sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        hits = scan_postgres(conninfo, f"PostgreSQL database {name}")
    except Exception as exc:  # a database we cannot read is a finding, not a pass
        hits = [Hit(f"PostgreSQL database {name}", 0, f"not scanned: {exc!r}")]
    if hits is not None:
        _cost["databases"] += 1
        _found.extend(hits)
    _cost["seconds"] += time.perf_counter() - started


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    started = time.perf_counter()
    hits, files = scan_tree([factory.getbasetemp()])
    _cost["seconds"] += time.perf_counter() - started
    _cost["files"] += files
    _found.extend(hits)
    if _found:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    summary = (
        f"{_cost['files']} files and {_cost['databases']} PostgreSQL databases"
        f" in {_cost['seconds']:.2f} s"
    )
    if not _found:
        terminalreporter.write_line(f"card number scan of the API stacks' data: none ({summary})")
        return
    terminalreporter.write_sep("=", "card numbers in the API stacks' data", red=True)
    for hit in _found:
        terminalreporter.write_line(str(hit), red=True)
    terminalreporter.write_line(f"{len(_found)} found ({summary}); the session fails")
