"""What the API stack itself spends on a request: a few request kinds straight to it.

Starts a fresh stack as bench/checkout.py does (PostgreSQL and Redis by default, one
process per service), then sends each request kind straight to the live API stack (no
edge, no router) from `--concurrency` workers and prints requests/s, p50 and p99, and the
CPU time the API process spent per request, read from /proc (less sensitive than
throughput to other load on the machine; say the load average with the figures):

  GET charge        GET /v1/charges/{id}: the key lookup, one read, the presenter
  POST customer     POST /v1/customers under a new Idempotency-Key: the key's claim,
                    the customer's transaction, the key's finish
  replay customer   the same POST under a key already answered: the stored answer
  POST charge       POST /v1/charges (live, a generated card) under a new Idempotency-Key:
                    the whole charge route, the vault, fraud and the card network beside it
  idle              no request for IDLE_SECONDS: what the API's background work (webhook
                    poll, key-cache listener, completer, lease) costs, in CPU ms per second

With `--profile DIR`, py-spy (not a dependency: `.venv/bin/pip install py-spy`) samples
the API process, only the thread holding the GIL, through each measured kind and writes
DIR/KIND.txt (collapsed stacks); bench/profile_charge.py's report reads them. Its sampling
costs the API CPU too: take the CPU column from a run without it.

With `--transactions` (PostgreSQL), the API database's committed and rolled-back
transactions per request are counted too (pg_stat_database; a statement sent in autocommit
is one): the SQL round trips a request makes, give or take its BEGIN and COMMIT and the
background's few (key-cache listener, lease, webhook poll). PostgreSQL publishes a
backend's counts once it has been idle a while: each kind waits STATS_SECONDS after.

Usage: .venv/bin/python bench/api_request.py [--requests N] [--concurrency C]
    [--store postgresql|sqlite] [--kinds get,customer,replay,charge]
    [--profile DIR] [--transactions]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).parent))

import checkout  # type: ignore[import-not-found]  # the sibling script: stores, CPU, measures

from strongroom.devkeys import load_or_create
from strongroom.marketplaces import create_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from strongroom.testcards import generated_card

# Per kind, the CPU by thread (thread_split): printed under the table.
splits: dict[str, str] = {}
KINDS = ("get", "customer", "replay", "charge", "idle")
IDLE_SECONDS = 20.0
# PostgreSQL (15 and later) flushes an idle backend's statistics within 10 s.
STATS_SECONDS = 11.0
LABELS = {
    "get": "GET charge",
    "customer": "POST customer",
    "replay": "replay customer",
    "charge": "POST charge",
    "idle": "idle (ms/s)",
}


PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


@contextmanager
def sampled(pid: int, out: Path | None, kind: str) -> Iterator[None]:
    """py-spy on the API process while the block runs (nothing without `out`)."""
    if out is None:
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    args = [PY_SPY, "record", "--rate", "500", "-f", "raw", "-o", str(out / f"{kind}.txt")]
    spy = subprocess.Popen([*args, "--pid", str(pid)], stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """User and system CPU seconds so far of each thread of a process, by thread id."""
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[int(task.name)] = checkout.user_system(int(task.name))
        except FileNotFoundError:
            continue  # ended meanwhile
    return times


def thread_split(pid: int, before: dict[int, tuple[float, float]], n: int) -> str:
    """CPU ms per request since `before`: the event loop's thread (user+system), and the
    other threads' (the request threads, the background's), user+system."""
    after = thread_cpu(pid)
    spent = {
        tid: (u - before.get(tid, (0, 0))[0], s - before.get(tid, (0, 0))[1])
        for tid, (u, s) in after.items()
    }
    loop = spent.get(pid, (0.0, 0.0))
    others = [v for tid, v in spent.items() if tid != pid]
    ou, os_ = sum(u for u, _ in others), sum(s for _, s in others)
    k = 1000 / n
    return (
        f"loop {loop[0] * k:.2f}+{loop[1] * k:.2f}  threads {ou * k:.2f}+{os_ * k:.2f}"
        " (user+system ms)"
    )


def transactions(database_url: str | None) -> int:
    """Transactions committed or rolled back so far in the database (0 without one)."""
    if database_url is None:
        return 0
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(checkout.PG_ADMIN, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


class Requests:
    """The request of each kind, on the live stack of one marketplace."""

    def __init__(self, vault: str, pk: str, sk: str) -> None:
        self.vault = vault
        self.pk = pk
        self.auth = {"authorization": f"Bearer {sk}"}
        self.charge_id = ""
        self.replay_key = "bench-" + secrets.token_hex(8)
        self.tokens: list[str] = []

    async def prepare(self, client: httpx.AsyncClient, charges: int) -> None:
        """A charge to read, a key answered once, and `charges` cards tokenised."""
        async with httpx.AsyncClient(base_url=self.vault, timeout=60) as vault:
            for _ in range(charges + 1):
                card = {
                    "number": generated_card(),
                    "exp_month": 12,
                    "exp_year": dt.date.today().year + 2,
                    "cvc": "123",
                }
                response = await vault.post(
                    "/v1/cards", json=card, headers={"authorization": f"Bearer {self.pk}"}
                )
                _check(response, 201)
                self.tokens.append(response.json()["id"])
        await self.charge(client)
        self.charge_id = self._last_charge
        await self.customer(client, self.replay_key)

    async def get(self, client: httpx.AsyncClient) -> None:
        _check(await client.get(f"/v1/charges/{self.charge_id}", headers=self.auth), 200)

    async def customer(self, client: httpx.AsyncClient, key: str | None = None) -> None:
        headers = {**self.auth, "idempotency-key": key or secrets.token_hex(12)}
        body = {"email": "bench@example.com", "metadata": {"order": "1"}}
        _check(await client.post("/v1/customers", json=body, headers=headers), 201)

    async def replay(self, client: httpx.AsyncClient) -> None:
        await self.customer(client, self.replay_key)

    async def charge(self, client: httpx.AsyncClient) -> None:
        headers = {**self.auth, "idempotency-key": secrets.token_hex(12)}
        body = {"card": self.tokens.pop(), "amount": 100, "currency": "usd"}
        response = await client.post("/v1/charges", json=body, headers=headers)
        _check(response, 201)
        if response.json().get("status") != "succeeded":
            raise SystemExit(f"charge: {response.text}")
        self._last_charge = response.json()["id"]

    _last_charge = ""


def _check(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise SystemExit(f"{response.request.url.path}: {response.status_code} {response.text}")


async def run(
    store: dict[str, str],
    data_dir: Path,
    kinds: list[str],
    n: int,
    c: int,
    profile: Path | None = None,
    count: bool = False,
) -> list[tuple[str, Any, float, float | None]]:
    store = dict(store)
    database = store.get("api_live_database_url") if count else None
    prefix = store.pop("redis_prefix", None)
    opts = Options(data_dir=data_dir, ports=Ports(*free_ports(7)), **store)  # type: ignore[arg-type]
    secrets_ = load_or_create(data_dir)
    stack = services(opts, secrets_)
    if prefix is not None:
        next(s for s in stack if s.name == "fraud").env["FRAUD_COUNTERS_PREFIX"] = prefix
    vault = next(s for s in stack if s.name == "vault")
    vault.env["VAULT_TOKENISE_PER_CLIENT_MINUTE"] = str(checkout.UNPACED)
    vault.env["VAULT_TOKENISE_PER_KEY_MINUTE"] = str(checkout.UNPACED)
    api = f"http://{opts.host}:{opts.ports.api_live}"
    rows: list[tuple[str, Any, float, float | None]] = []
    splits.clear()
    with Supervisor(stack, opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        keys = create_marketplace(opts, secrets_, "bench")  # registered with the running vault
        pid = supervisor.pids()["api-live"]
        requests = Requests(f"http://{opts.host}:{opts.ports.vault}", keys.pk_live, keys.sk_live)
        async with httpx.AsyncClient(base_url=api, timeout=60) as client:
            charges = 2 * n + 1 if "charge" in kinds else 0  # warm-up, then measured
            await requests.prepare(client, charges)
        calls: dict[str, Callable[[httpx.AsyncClient], Awaitable[None]]] = {
            "get": requests.get,
            "customer": requests.customer,
            "replay": requests.replay,
            "charge": requests.charge,
        }
        for kind in kinds:
            if kind == "idle":
                with sampled(pid, profile, kind):
                    before = checkout.cpu_seconds(pid)
                    threads = thread_cpu(pid)
                    await asyncio.sleep(IDLE_SECONDS)
                    splits[kind] = thread_split(pid, threads, int(IDLE_SECONDS))
                    idle = (checkout.cpu_seconds(pid) - before) * 1000 / IDLE_SECONDS
                rows.append((kind, None, idle, None))
                continue
            await checkout.measure(calls[kind], min(n, 50), c, api)  # warm-up
            if database is not None:
                await asyncio.sleep(STATS_SECONDS)
            began = transactions(database)
            with sampled(pid, profile, kind):
                before = checkout.cpu_seconds(pid)
                threads = thread_cpu(pid)
                timing = await checkout.measure(calls[kind], n, c, api)
                cpu = (checkout.cpu_seconds(pid) - before) * 1000 / n
                splits[kind] = thread_split(pid, threads, n)
            if database is not None:
                await asyncio.sleep(STATS_SECONDS)
            trips = (transactions(database) - began) / n if database is not None else None
            rows.append((kind, timing, cpu, trips))
    return rows


def main() -> None:
    global IDLE_SECONDS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per kind")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--store", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument(
        "--idle-seconds", type=float, default=IDLE_SECONDS, help="how long idle is measured"
    )
    parser.add_argument("--profile", type=Path, help="py-spy's stacks of each kind, here")
    parser.add_argument(
        "--transactions", action="store_true", help="count the database's, per request"
    )
    args = parser.parse_args()
    IDLE_SECONDS = args.idle_seconds
    kinds = args.kinds.split(",")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise SystemExit(f"unknown kinds {sorted(unknown)}: of {', '.join(KINDS)}")
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        store: dict[str, str] = {}
        if args.store == "postgresql":
            store = stack.enter_context(checkout.postgres_and_redis())
        rows = asyncio.run(
            run(
                store,
                Path(tmp),
                kinds,
                args.requests,
                args.concurrency,
                args.profile,
                args.transactions,
            )
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nlive API stack on {args.store}, {args.requests} requests per kind, "
        f"concurrency {args.concurrency}, load average {load}"
    )
    print(
        f"{'request':<16} | {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | {'API CPU ms/req':>14}"
        + (f" | {'DB xacts/req':>12}" if args.transactions else "")
    )
    for kind, timing, cpu, trips in rows:
        counted = f" | {trips:>12.2f}" if trips is not None else ""
        if timing is None:  # idle: CPU ms per second, no requests
            print(f"{LABELS[kind]:<16} | {'-':>7} {'-':>7} {'-':>7} | {cpu:>14.2f}{counted}")
            continue
        print(
            f"{LABELS[kind]:<16} | {timing.rps:>7.1f} {timing.p50:>7.1f} {timing.p99:>7.1f} | "
            f"{cpu:>14.2f}{counted}"
        )
    for kind, split in splits.items():
        print(f"  {LABELS[kind]:<16} {split}")


if __name__ == "__main__":
    main()
