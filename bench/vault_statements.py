"""SQL statements, transactions and audit-log fsyncs the vault makes per charge, by phase.

The vault runs in this process (as tests/vault does: a TestClient over create_app), on a
fresh PostgreSQL database (STRONGROOM_TEST_PG's server) or a SQLite file, with a card
network stand-in that approves everything. For each mode it tokenises cards, then makes
`--requests` charges at concurrency 1, each as the API makes it: the card's metadata GET,
then the charge (live mode as a sale, capture=true). Nothing is added to the vault's code:
SQLAlchemy events installed here count what reaches the database driver (a BEGIN where the
driver opens a transaction implicitly, a COMMIT or ROLLBACK only where one was open), the
audit's fsyncs are counted by wrapping os.fsync, and the phases are told by the vault's
crash points (vault.crashpoints), which this script replaces with markers, and a marker
where the audit's catch-up starts.

Usage: .venv/bin/python bench/vault_statements.py [--requests 20] [--stores postgresql,sqlite]
    [--modes test,live] [--sql]   (--sql prints each phase's statements of one charge)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, create_engine, event, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vault.audit
import vault.services.charges
from tests.helpers.servers import serving
from tests.vault import conftest as fixtures
from vault.app import create_app

PG_ADMIN = os.environ.get("STRONGROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PHASES = {  # the last marker passed -> the phase it starts
    "metadata": "metadata GET",
    "clearance_checked:before": "clearance_checked (card+charge read)",
    "clearance_checked:after": "clearance_checked -> audit_requested",
    "audit_requested:before": "audit_requested (attempt entry)",
    "audit_requested:after": "claimed (claim, anchor)",
    "claimed:before": "claimed (claim, anchor)",
    "claimed:after": "network_sent -> network_answered",
    "network_answered:after": "recorded",
    "catch_up": "catch-up (owed entries)",
    "recorded:after": "after recorded",
}


class Counts:
    """What reached the driver, by phase: statements (by verb), BEGIN, COMMIT, ROLLBACK, fsync."""

    def __init__(self) -> None:
        self.phase = "idle"
        self.on = False
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


def install(counts: Counts) -> None:
    @event.listens_for(Engine, "before_cursor_execute")
    def statement(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
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
        if _in_transaction(conn.connection.dbapi_connection):
            counts.add("COMMIT")

    @event.listens_for(Engine, "rollback")
    def rollback(conn: Any) -> None:
        if _in_transaction(conn.connection.dbapi_connection):
            counts.add("ROLLBACK")

    fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        counts.add("fsync")
        fsync(fd)

    os.fsync = counted_fsync  # type: ignore[assignment]

    def marker(service: str, point: str, when: str) -> None:
        counts.phase = f"{point}:{when}"

    vault.services.charges.crash_at = marker  # type: ignore[attr-defined]
    catch_up = vault.audit.AuditLog.catch_up

    def marked_catch_up(self: vault.audit.AuditLog, *args: Any) -> bool:
        if counts.phase == "network_answered:after":
            counts.phase = "catch_up"
        return catch_up(self, *args)

    vault.audit.AuditLog.catch_up = marked_catch_up  # type: ignore[method-assign,assignment]


@contextmanager
def database(store: str, tmp: Path) -> Iterator[str]:
    if store == "sqlite":
        yield f"sqlite:///{tmp / 'vault.db'}"
        return
    admin_url = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"strongroom_stmts_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def approving_network() -> Starlette:
    async def authorize(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"approved": True, "code": "approved", "authorization_code": "N1"})

    return Starlette(routes=[Route("/v1/authorizations", authorize, methods=["POST"])])


def run(store: str, modes: list[str], n: int, show_sql: bool, counts: Counts) -> None:
    fraud_key = Ed25519PrivateKey.generate()
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(store, Path(tmp)) as url,
        serving(approving_network()) as network_url,
    ):
        settings = fixtures.make_settings(
            Path(tmp) / "data",
            fraud_key,
            database_url=url,
            network_url=network_url,
            completer_interval=3600.0,  # no background work during the counting
            claim_lease=600,
            audit_checkpoint_interval=3600.0,
        )

        def sign(**fields: Any) -> dict[str, str]:  # as fraud signs a clearance
            body = {"decision": "allow", "expires_at": int(time.time()) + 60, **fields}
            payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
            signature = fixtures.b64url(fraud_key.sign(payload))
            return {"payload": fixtures.b64url(payload), "signature": signature}

        with TestClient(create_app(settings)) as client:
            vault = fixtures.Harness(client, settings, sign)
            vault.register(
                fixtures.MARKETPLACE, [fixtures.KEYS[k] for k in fixtures.MARKETPLACE_KEYS]
            )
            for mode in modes:
                live = mode == "live"
                tokens = []
                for _ in range(n + 1):
                    number = vault.number("4") if live else "4242424242424242"
                    tokens.append(vault.token(number, key="pk_live" if live else "pk_test"))
                bodies = [
                    {**vault.charge_body(t, f"ch_{mode}_{i}", live=live), "capture": live}
                    for i, t in enumerate(tokens)
                ]
                counts.by_phase, counts.sql = {}, {}
                for i, (token, body) in enumerate(zip(tokens, bodies, strict=True)):
                    counts.on = i > 0  # the first charge warms the pool and caches
                    counts.phase = "metadata"
                    assert vault.metadata(token, live=live).status_code == 200
                    counts.phase = "charge"
                    answer = vault.post_charge(body, live=live)
                    assert answer.status_code == 200, answer.text
                    counts.on = False
                    time.sleep(0.01)
                report(store, mode, counts, n, show_sql)


COLUMNS = ("statements", "BEGIN", "COMMIT", "ROLLBACK", "fsync")


def report(store: str, mode: str, counts: Counts, n: int, show_sql: bool) -> None:
    print(f"\n{store}, {mode} mode: per charge (mean of {n}), metadata GET included")
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
