"""SQL statements, transactions and upstream calls the API makes per charge, by phase.

The API stacks, the vault, fraud and the card network run in this process (as tests/api
does: each an in-process server on loopback, tests.api.conftest.start), on fresh PostgreSQL
databases (STRONGROOM_TEST_PG's server) or SQLite files. For each mode it tokenises cards,
then makes `--requests` charges at concurrency 1 with the merchant's secret key, captured,
each with an Idempotency-Key as the Stripe SDKs send one. Nothing is added to the API's
code: SQLAlchemy events installed here count what reaches the API's database driver (a
BEGIN where the driver opens a transaction implicitly, a COMMIT or ROLLBACK only where one
was open; the other services' databases are not counted), the API's calls to the vault and
fraud are counted by wrapping its HTTP client, and the phases are told by the API's crash
points (servicekit.crashpoints), which this script replaces with markers.

Usage: .venv/bin/python bench/api_statements.py [--requests 20] [--stores postgresql,sqlite]
    [--modes test,live] [--sql]   (--sql prints each phase's statements of one charge)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import api.charges.service
import api.clients.http
from tests.api.conftest import Stacks, start

PHASES = {  # the last marker passed -> the phase it starts
    "request": "key, claim, charge stored (started)",
    "assessed:before": "assessed (fraud's answer stored)",
    "vault_called:before": "vault_called (the vault's charge)",
    "vault_called:after": "recorded (outcome, event, key's finish)",
    "recorded:before": "recorded (outcome, event, key's finish)",
}
COLUMNS = ("statements", "BEGIN", "COMMIT", "ROLLBACK", "vault", "fraud")


class Counts:
    """What reached the API's driver and its upstreams, by phase."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.on = False
        self.databases: set[str] = set()
        self.by_phase: dict[str, Counter[str]] = {}
        self.sql: dict[str, list[str]] = {}

    def add(self, what: str, statement: str | None = None) -> None:
        if not self.on:
            return
        phase = PHASES.get(self.phase, self.phase)
        self.by_phase.setdefault(phase, Counter())[what] += 1
        if what in COLUMNS:
            self.sql.setdefault(phase, []).append(statement or what)


def _in_transaction(dbapi: Any) -> bool:
    if hasattr(dbapi, "info"):  # psycopg: IDLE is 0
        return bool(dbapi.info.transaction_status)
    return bool(dbapi.in_transaction)  # sqlite3


def _ours(conn: Any, counts: Counts) -> bool:
    database = conn.engine.url.database or ""
    return any(database.endswith(name) for name in counts.databases)


def install(counts: Counts) -> None:
    @event.listens_for(Engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if not _ours(conn, counts):
            return
        dbapi = conn.connection.dbapi_connection
        verb = sql.lstrip().split(None, 1)[0].upper()
        if hasattr(dbapi, "info"):
            implicit_begin = not dbapi.autocommit and not _in_transaction(dbapi)
        else:  # sqlite3 opens a transaction before a change only, unless autocommitting
            implicit_begin = (
                dbapi.isolation_level is not None
                and not dbapi.in_transaction
                and verb in ("INSERT", "UPDATE", "DELETE")
            )
        if implicit_begin:
            counts.add("BEGIN")
        counts.add("statements", " ".join(sql.split())[:160])
        counts.add(verb)

    @event.listens_for(Engine, "commit")
    def commit(conn: Any) -> None:
        if _ours(conn, counts) and _in_transaction(conn.connection.dbapi_connection):
            counts.add("COMMIT")

    @event.listens_for(Engine, "rollback")
    def rollback(conn: Any) -> None:
        if _ours(conn, counts) and _in_transaction(conn.connection.dbapi_connection):
            counts.add("ROLLBACK")

    request = api.clients.http.JsonClient.request

    def counted(
        self: api.clients.http.JsonClient, method: str, path: str, *a: Any, **k: Any
    ) -> Any:
        upstream = "fraud" if path.startswith("/v1/assessments") else "vault"
        counts.add(upstream, f"{method} {path.split('?')[0]}")
        return request(self, method, path, *a, **k)

    api.clients.http.JsonClient.request = counted  # type: ignore[method-assign]

    def marker(service: str, point: str, when: str) -> None:
        counts.phase = f"{point}:{when}"

    api.charges.service.crash_at = marker  # type: ignore[attr-defined]


def run(store: str, modes: list[str], n: int, show_sql: bool, counts: Counts) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stacks: Stacks
        for stacks in start(Path(tmp), store, webhook_poll_seconds=3600.0):
            counts.databases = {
                s.resolved_database_url().rsplit("/", 1)[-1] for s in stacks.settings.values()
            }
            keys = stacks.marketplace("statements")
            for mode in modes:
                live = mode == "live"
                sk = keys.sk_live if live else keys.sk_test
                tokens = [stacks.token(keys, live=live) for _ in range(n + 1)]
                counts.by_phase, counts.sql = {}, {}
                with stacks.client(sk) as client:
                    for i, token in enumerate(tokens):
                        counts.on = i > 0  # the first charge warms the pools and caches
                        counts.phase = "request"
                        answer = client.post(
                            "/v1/charges",
                            data={"amount": 1000, "currency": "usd", "source": token},
                            headers={"idempotency-key": str(uuid.uuid4())},
                        )
                        assert answer.status_code in (200, 201), answer.text
                        assert answer.json()["status"] == "succeeded", answer.text
                        counts.on = False
                        time.sleep(0.01)
                report(store, mode, counts, n, show_sql)


def report(store: str, mode: str, counts: Counts, n: int, show_sql: bool) -> None:
    print(f"\n{store}, {mode} mode: the API per charge (mean of {n})")
    print(f"  {'phase':<40}" + "".join(f"{c:>11}" for c in COLUMNS) + "  statements by verb")
    total: Counter[str] = Counter()
    for phase in dict.fromkeys([*PHASES.values(), *counts.by_phase]):
        if phase not in counts.by_phase:
            continue
        c = counts.by_phase[phase]
        total.update(c)
        verbs = ", ".join(f"{v} {c[v] / n:g}" for v in sorted(c) if v not in COLUMNS)
        print(f"  {phase:<40}" + "".join(f"{c[k] / n:>11.2f}" for k in COLUMNS) + f"  {verbs}")
    print(f"  {'total':<40}" + "".join(f"{total[k] / n:>11.2f}" for k in COLUMNS))
    if show_sql:
        one = {p: s[: len(s) // n] for p, s in counts.sql.items()}
        for phase, statements in one.items():
            print(f"  -- {phase}")
            for s in statements:
                print(f"     {s}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--stores", default="postgresql,sqlite")
    parser.add_argument("--modes", default="test,live")
    parser.add_argument("--sql", action="store_true")
    args = parser.parse_args()
    counts = Counts()
    install(counts)
    for store in args.stores.split(","):
        run(store, args.modes.split(","), args.requests, args.sql, counts)


if __name__ == "__main__":
    main()
