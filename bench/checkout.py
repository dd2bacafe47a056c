"""Checkout through the whole stack: tokenise and charge, per mode, store and concurrency.

In one run, for each store (SQLite files, the embedded default; PostgreSQL with Redis
counters, the production shape), a fresh stack on free loopback ports, one process per
service. For test mode and live mode, at concurrency 1 and 16, it measures through the
edge:

  tokenise   POST /v1/cards (edge → vault)
  charge     POST /v1/charges, captured (edge → router → API → fraud → vault, and in live
             mode the card-network simulator)

and prints requests/s, p50 and p99 of each, the ratio charge/tokenise, and the CPU time
each service spent per charge, read from /proc for its process tree (less sensitive than
throughput to other load on the machine). Then where the rest of the machine's CPU went
per charge: PostgreSQL's backends of the bench's databases and its shared background
processes (found in /proc, PostgreSQL being local), the Redis server (by INFO's
process_id), this process (the client), and every core's busy time from /proc/stat, so
that the sum can be held against the machine's; and the machine's ceiling: how many
charges a second its cores could serve at what the services, PostgreSQL and Redis spend.

What is lifted so that the stack itself is measured, and said in the output:
- the router's test-mode pace (25 requests a second per key, 100 in all) is off;
- the vault's tokenising pace (30 a minute per client address, 600 per key) is lifted;
- fraud's velocity rule (a card charged more than five times in one marketplace within a
  minute goes to review) is a constant of the fraud service, left as it is: test mode
  charges the documented card 4242 4242 4242 4242 in a new marketplace every five charges.
Live mode charges a generated Luhn-valid card per charge, all in one marketplace.

Usage: .venv/bin/python bench/checkout.py [--requests N] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httptools
import psycopg
import redis
import uvloop

from strongroom.devkeys import DevSecrets, load_or_create
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from strongroom.testcards import SUCCEEDS, generated_card

CONCURRENCIES = (1, 16)
# Fraud's VELOCITY_REVIEW: more charges than this of one card in one marketplace a minute.
CHARGES_PER_TEST_MARKETPLACE = 5
PG_ADMIN = os.environ.get("STRONGROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("STRONGROOM_TEST_REDIS", "redis://127.0.0.1:6379/0")
UNPACED = 1_000_000  # the vault's tokenising pace, per minute, while measuring
SERVICES = ("api-test", "api-live", "vault", "router", "fraud", "edge", "card_network")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of a process, its threads and its live children
    (Linux /proc; the same reading as bench/edge.py's, which a script cannot import)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own_cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


SHARED_PG = "pg-shared"
# The parts of the machine a charge is accounted to, besides the services (SERVICES).
PARTS = ("postgresql", SHARED_PG, "redis", "client")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def user_system(pid: int) -> tuple[float, float]:
    """User and system CPU seconds so far of one process and its threads (or of one thread,
    by its id), not its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def own_cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of one process and its threads, not its children."""
    return sum(user_system(pid))


def machine_busy() -> tuple[float, int]:
    """Seconds all cores have been busy so far (/proc/stat: user, nice, system, irq,
    softirq; not idle, iowait or steal), and how many cores there are."""
    lines = Path("/proc/stat").read_text().splitlines()
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in lines[0].split()[1:8])
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3].isdigit())
    return (user + nice + system + irq + softirq) / CLK_TCK, cores


class Backends:
    """PostgreSQL's processes that work for the bench: the backends of its databases (the
    postmaster's children whose process title names one), and, as `pg-shared`, the
    postmaster and its background processes (WAL writer, checkpointer, background writer,
    launchers), which serve the whole cluster, other users' databases too. Found in /proc
    (PostgreSQL is local), sampled every tenth of a second while a figure is measured:
    a pooled connection closed meanwhile is counted up to its last sample."""

    def __init__(self, postmaster: int, databases: set[str]) -> None:
        self._databases = databases
        self._postmaster = postmaster
        self._parts: dict[int, str | None] = {}  # by pid, read once from its title
        self._first: dict[int, tuple[str, float]] = {}
        self._last: dict[int, float] = {}

    def start(self) -> None:
        self._first = {pid: (part, cpu) for pid, part, cpu in self._read()}
        self._last = {pid: cpu for pid, (_, cpu) in self._first.items()}

    def sample(self) -> None:
        for pid, part, cpu in self._read():
            self._first.setdefault(pid, (part, 0.0))  # began since `start`: all of it counts
            self._last[pid] = cpu

    def spent(self) -> dict[str, float]:
        """CPU seconds by part since `start`."""
        self.sample()
        spent = dict.fromkeys(("postgresql", SHARED_PG), 0.0)
        for pid, (part, first) in self._first.items():
            spent[part] += self._last[pid] - first
        return spent

    def _read(self) -> Iterator[tuple[int, str, float]]:
        pm = self._postmaster
        yield pm, SHARED_PG, own_cpu_seconds(pm)
        for child in map(int, Path(f"/proc/{pm}/task/{pm}/children").read_text().split()):
            part = self._parts.get(child, "")
            try:
                if part == "":
                    part = self._part(child)
                    if part != SHARED_PG:  # a backend just forked has no title yet
                        self._parts[child] = part
                if part is not None:
                    yield child, part, own_cpu_seconds(child)
            except (FileNotFoundError, ProcessLookupError):
                continue  # exited meanwhile

    def _part(self, pid: int) -> str | None:
        """Whose process `pid` is, from its title: None if another database's."""
        title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].split()
        # "postgres: 15/main: USER DATABASE HOST(PORT) STATE…" for a client's backend,
        # "postgres: 15/main: walwriter" for a background process.
        words = {word.decode(errors="replace") for word in title[1:]}
        if words & self._databases:
            return "postgresql"
        if any(w == "[local]" or w.endswith(")") for w in words):
            return None  # another database's backend
        if "autovacuum" in words and "worker" in words:
            return None  # another database's vacuum
        return SHARED_PG


def local_postmaster() -> int | None:
    """The postmaster's pid, the parent of the backend answering this query; None when
    that backend is not a process of this machine (PostgreSQL elsewhere)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        try:
            stat = Path(f"/proc/{row[0]}/stat").read_text()
            title = Path(f"/proc/{row[0]}/cmdline").read_bytes()
        except FileNotFoundError:
            return None
    if not title.startswith(b"postgres"):
        return None  # another process of that pid: PostgreSQL runs elsewhere
    return int(stat.rsplit(")", 1)[1].split()[1])


def _redis_cpu(url: str) -> Callable[[], float] | None:
    """How to read the Redis server's CPU time so far: from /proc by INFO's process_id when
    it runs here, else from INFO cpu (its own count, every thread). None: no Redis."""
    client = redis.Redis.from_url(url)
    pid = int(client.info("server")["process_id"])
    host = urlsplit(url).hostname or "127.0.0.1"
    comm = Path(f"/proc/{pid}/comm")
    local = host in ("127.0.0.1", "localhost", "::1") and comm.exists()
    if local and comm.read_text().startswith("redis"):
        return lambda: own_cpu_seconds(pid)

    def reported() -> float:
        cpu = client.info("cpu")
        return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])

    return reported


class Accounting:
    """Where a figure's CPU goes on the whole machine: each service's process tree,
    PostgreSQL's processes (`Backends`), Redis's server, this process (the client, which
    also supervises the stack), and the machine's total from /proc/stat."""

    def __init__(self, pids: dict[str, int], store: dict[str, str]) -> None:
        self._pids = pids
        databases = {
            urlsplit(url).path.lstrip("/")
            for name, url in store.items()
            if name.endswith("_database_url")
        }
        postmaster = local_postmaster() if databases else None
        self._backends = Backends(postmaster, databases) if postmaster else None
        if databases and not postmaster:
            print("PostgreSQL runs on another machine: its CPU is left out of the figures.")
        counters = store.get("fraud_counters_url")
        self._redis = _redis_cpu(counters) if counters else None
        self._before: dict[str, float] = {}
        self.cores = machine_busy()[1]
        self._sampling: threading.Event | None = None

    def _read(self) -> dict[str, float]:
        read = {name: cpu_seconds(pid) for name, pid in self._pids.items()}
        read["client"] = own_cpu_seconds(os.getpid())
        read["redis"] = self._redis() if self._redis else 0.0
        read["machine"] = machine_busy()[0]
        return read

    @contextmanager
    def measuring(self, n: int) -> Iterator[dict[str, float]]:
        """Yields a dict that holds, once the block is done, the CPU ms per one of `n`
        charges spent by each service, part (PARTS) and the machine."""
        per_charge: dict[str, float] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(stop,), daemon=True)
        if self._backends is not None:
            self._backends.start()
            sampler.start()
        before = self._read()
        try:
            yield per_charge
        finally:
            after = self._read()
            stop.set()
            if self._backends is not None:
                sampler.join()
                after.update(self._backends.spent())
        for name, value in after.items():
            per_charge[name] = (value - before.get(name, 0.0)) * 1000 / n

    def _sample(self, stop: threading.Event) -> None:
        assert self._backends is not None
        while not stop.wait(0.1):
            self._backends.sample()


class Reply:
    """A whole answer, read as the workload needs it."""

    __slots__ = ("content", "status_code")

    def __init__(self, status_code: int, content: bytes) -> None:
        self.status_code = status_code
        self.content = content

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: a request, then its whole answer (llhttp), in turn."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = True
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self._answer: asyncio.Future[Reply] | None = None

    async def exchange(self, request: bytes, timeout: float) -> Reply:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Reply] = loop.create_future()
        self._answer = answer
        timer = loop.call_later(timeout, self._fail, TimeoutError("no answer in time"))
        self.transport.write(request)
        try:
            return await answer
        finally:
            timer.cancel()

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: Exception) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(exc or ConnectionError("closed by the server before answering"))

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        reply = Reply(self._parser.get_status_code(), b"".join(self._body))
        self._body = []
        self.reusable = self._parser.should_keep_alive()
        if self._answer is not None and not self._answer.done():
            self._answer.set_result(reply)


def _compact(value: object) -> bytes:
    """JSON as httpx sends it: compact, UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class Client:
    """The bench's HTTP/1.1 client: keep-alive connections to one origin, a connection
    per request in flight, answers read by llhttp, on uvloop. httpx's AsyncClient spent
    2.6-3.3 ms of CPU a charge in this process at concurrency 16 (this one 0.4), on the
    same 2 cores as the stack."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._authority = parts.netloc
        self._timeout = timeout
        self._idle: list[_Connection] = []

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        while self._idle:
            self._idle.pop().close()

    async def post(self, path: str, json: dict[str, Any], headers: dict[str, str]) -> Reply:
        """POST `json` (compact, as httpx sends it) with `headers` (a `host` among them
        replaces the origin's)."""
        body = _compact(json)
        fields = {"host": self._authority, **headers}
        head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
        request = (
            f"POST {path} HTTP/1.1\r\n{head}accept: */*\r\nconnection: keep-alive\r\n"
            f"user-agent: strongroom-bench\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode() + body
        connection = self._idle.pop() if self._idle else await self._open()
        try:
            reply = await connection.exchange(request, self._timeout)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            self._idle.append(connection)
        else:
            connection.close()
        return reply

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        return connection


@dataclass(frozen=True)
class Timing:
    rps: float
    p50: float  # ms
    p99: float  # ms


@dataclass(frozen=True)
class Row:
    mode: str
    concurrency: int
    tokenise: Timing
    charge: Timing
    cpu_ms: dict[str, float]  # per charge, by service
    machine_ms: dict[str, float]  # per charge, by part (PARTS) and the machine's total


async def measure(call: Callable[[Client], Awaitable[None]], n: int, c: int, edge: str) -> Timing:
    """`n` calls from `c` concurrent workers on one client (a connection each); their
    latencies."""
    latencies: list[float] = []
    remaining = n

    async def worker(client: Client) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call(client)
            latencies.append(time.perf_counter() - start)

    async with Client(edge) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(c)))
        elapsed = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return Timing(len(latencies) / elapsed, q[49] * 1000, q[98] * 1000)


class Workload:
    """Cards to tokenise and the tokens to charge, for one mode."""

    def __init__(self, mode: str, keys: list[MarketplaceKeys]) -> None:
        self.mode = mode
        self._keys = keys
        self._issued = 0
        self._tokens: list[tuple[str, str]] = []  # (token, the secret key that may charge it)
        self._year = dt.date.today().year + 2

    def _next_keys(self) -> MarketplaceKeys:
        i = self._issued
        self._issued += 1
        if self.mode == "live":
            return self._keys[0]
        return self._keys[i // CHARGES_PER_TEST_MARKETPLACE]

    async def tokenise(self, client: Client) -> None:
        keys = self._next_keys()
        number = SUCCEEDS if self.mode == "test" else generated_card()
        card = {"number": number, "exp_month": 12, "exp_year": self._year, "cvc": "123"}
        pk = keys.pk_test if self.mode == "test" else keys.pk_live
        response = await client.post("/v1/cards", json=card, headers=_headers(pk))
        if response.is_error:
            raise SystemExit(f"tokenise ({self.mode}): {response.status_code} {response.text}")
        sk = keys.sk_test if self.mode == "test" else keys.sk_live
        self._tokens.append((response.json()["id"], sk))

    async def charge(self, client: Client) -> None:
        token, sk = self._tokens.pop()
        body = {"card": token, "amount": 100, "currency": "usd"}
        response = await client.post("/v1/charges", json=body, headers=_headers(sk))
        if response.is_error or response.json().get("status") != "succeeded":
            raise SystemExit(f"charge ({self.mode}): {response.status_code} {response.text}")


def _headers(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}", "host": "api.localhost"}


async def run_mode(workload: Workload, n: int, edge: str, accounts: Accounting) -> list[Row]:
    rows = []
    for c in CONCURRENCIES:
        tokenised = await measure(workload.tokenise, n, c, edge)
        with accounts.measuring(n) as spent:
            charged = await measure(workload.charge, n, c, edge)
        cpu = {name: spent[name] for name in SERVICES if name in spent}
        machine = {name: spent.get(name, 0.0) for name in (*PARTS, "machine")}
        rows.append(Row(workload.mode, c, tokenised, charged, cpu, machine))
    return rows


@contextmanager
def postgres_and_redis() -> Iterator[dict[str, str]]:
    """Three new PostgreSQL databases and a Redis key prefix, removed afterwards."""
    names = {
        role: f"strongroom_bench_{role}_{secrets.token_hex(4)}"
        for role in ("vault", "api_test", "api_live")
    }
    prefix = f"strongroom-bench-{secrets.token_hex(4)}:"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            **{f"{role}_database_url": f"{base}/{name}" for role, name in names.items()},
            "fraud_counters_url": REDIS_URL,
            "redis_prefix": prefix,
        }
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


async def run_store(
    n: int, data_dir: Path, store: dict[str, str], modes: tuple[str, ...] = ("test", "live")
) -> list[Row]:
    rows: list[Row] = []

    async def measured(edge: str, keys: list[MarketplaceKeys], pids: dict[str, int]) -> None:
        accounts = Accounting(pids, store)
        for mode in modes:
            rows.extend(await run_mode(Workload(mode, keys), n, edge, accounts))

    await with_stack(n, data_dir, store, measured)
    return rows


async def with_stack(
    n: int,
    data_dir: Path,
    store: dict[str, str],
    body: Callable[[str, list[MarketplaceKeys], dict[str, int]], Awaitable[None]],
) -> None:
    """A fresh, warmed stack on `store` for `n` charges per concurrency per mode: `body`
    gets the edge's URL, the marketplaces' keys and each service's pid."""
    store = dict(store)
    prefix = store.pop("redis_prefix", None)
    opts = Options(
        data_dir=data_dir,
        ports=Ports(*free_ports(7)),
        api_test_priority="normal",  # measured as live is: the idle priority is bench/router's
        router_test_rate_per_key=0,
        router_test_rate=0,
        **store,  # type: ignore[arg-type]
    )
    secrets_ = load_or_create(data_dir)
    # One marketplace per five test charges (warm-up charges included), one for live.
    needed = -(-len(CONCURRENCIES) * n // CHARGES_PER_TEST_MARKETPLACE)
    stack = services(opts, secrets_)
    if prefix is not None:
        next(s for s in stack if s.name == "fraud").env["FRAUD_COUNTERS_PREFIX"] = prefix
    # Tokenising is paced per client address (30 a minute) against guessing numbers: lifted.
    vault = next(s for s in stack if s.name == "vault")
    vault.env["VAULT_TOKENISE_PER_CLIENT_MINUTE"] = str(UNPACED)
    vault.env["VAULT_TOKENISE_PER_KEY_MINUTE"] = str(UNPACED)
    edge = f"http://127.0.0.1:{opts.ports.edge}"
    with Supervisor(stack, opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        keys = [create_marketplace(opts, secrets_, f"bench {i}") for i in range(needed)]
        pids = supervisor.pids()
        await _warm(edge, secrets_, keys[-1])
        await body(edge, keys, pids)


async def _warm(edge: str, secrets_: DevSecrets, keys: MarketplaceKeys) -> None:
    """One live tokenise and charge, so that first-request costs stay out of the figures."""
    async with Client(edge) as client:
        warm = Workload("live", [keys])
        await warm.tokenise(client)
        await warm.charge(client)


def report(store: str, rows: list[Row], n: int) -> None:
    print(f"\n{store}: {n} requests per figure, one process per service")
    print(
        f"{'mode':<5} {'conc':>4} | {'tokenise/s':>10} {'p50':>6} {'p99':>6} | "
        f"{'charge/s':>8} {'p50':>6} {'p99':>6} | {'charge/tokenise':>15}"
    )
    for r in rows:
        t, ch = r.tokenise, r.charge
        print(
            f"{r.mode:<5} {r.concurrency:>4} | {t.rps:>10.1f} {t.p50:>6.1f} {t.p99:>6.1f} | "
            f"{ch.rps:>8.1f} {ch.p50:>6.1f} {ch.p99:>6.1f} | {ch.rps / t.rps:>15.2f}"
        )
    print("CPU ms per charge, by service (from /proc, each service's process tree):")
    print(f"{'mode':<5} {'conc':>4} | " + " ".join(f"{s:>12}" for s in SERVICES) + f" {'total':>7}")
    for r in rows:
        cells = " ".join(f"{r.cpu_ms.get(s, 0.0):>12.2f}" for s in SERVICES)
        print(f"{r.mode:<5} {r.concurrency:>4} | {cells} {sum(r.cpu_ms.values()):>7.2f}")
    print(
        "CPU ms per charge, the whole machine: the services (the total above); postgresql,\n"
        "the backends of the bench's databases; pg-shared, the postmaster and its background\n"
        "processes (the whole cluster's); redis, its server (shared); client, this process;\n"
        "machine, every core's busy time (/proc/stat), other users' load included:"
    )
    parts = ("services", *PARTS)
    print(
        f"{'mode':<5} {'conc':>4} | "
        + " ".join(f"{p:>10}" for p in parts)
        + f" | {'accounted':>9} {'machine':>8} {'rest':>6}"
    )
    cores = machine_busy()[1]
    ceilings = []
    for r in rows:
        spent = {"services": sum(r.cpu_ms.values()), **r.machine_ms}
        accounted = sum(spent[p] for p in parts)
        cells = " ".join(f"{spent[p]:>10.2f}" for p in parts)
        print(
            f"{r.mode:<5} {r.concurrency:>4} | {cells} | {accounted:>9.2f} "
            f"{spent['machine']:>8.2f} {spent['machine'] - accounted:>6.2f}"
        )
        serving = accounted - spent["client"]  # the client is the merchant's, not ours
        ceilings.append(
            f"{r.mode} c{r.concurrency}: machine ceiling at this CPU per charge: "
            f"{cores * 1000 / serving:.0f} charges/s on {cores} cores "
            f"(services, PostgreSQL and Redis: {serving:.2f} ms a charge)"
        )
    print("\n".join(ceilings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per figure")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--modes", default="test,live")
    args = parser.parse_args()
    modes = tuple(args.modes.split(","))
    print("The router's test-mode pace and the vault's tokenising pace are lifted; fraud's")
    print(
        f"velocity rule is kept, so test charges of card {SUCCEEDS} go "
        f"{CHARGES_PER_TEST_MARKETPLACE} to a marketplace.\nLive charges: a generated card "
        "each, through the network simulator."
    )
    print("On a shared machine throughput and latency are noisy; CPU per charge much less so.")
    for store in args.stores.split(","):
        with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
            if store == "sqlite":
                rows = uvloop.run(run_store(args.requests, Path(tmp), {}, modes))
                report("SQLite, in-process fraud counters", rows, args.requests)
            elif store == "postgresql":
                with postgres_and_redis() as databases:
                    rows = uvloop.run(run_store(args.requests, Path(tmp), databases, modes))
                report("PostgreSQL, Redis fraud counters", rows, args.requests)
            else:
                raise SystemExit(f"unknown store {store!r}: sqlite or postgresql")


if __name__ == "__main__":
    main()
