"""Does a flood of test-mode traffic slow the live stack? Live p99 alone, then under flood.

Starts the whole stack on embedded defaults on free loopback ports (the test stack with
--test-workers processes at --test-priority, as `strongroom up` runs it), then alternates,
--rounds times:

  quiet      a live probe alone: GET /v1/charges?limit=10 with sk_live, one at a time
  flooded    the same probe while a separate process floods the test stack with
             --concurrency connections (POST /v1/customers and GET /v1/charges), using
             --flood-keys test keys (several testers, a marketplace each)

and prints live p50/p99 for both conditions, their ratio, and what the flood achieved
(requests/s served, how many the router turned away). The router has `strongroom up`'s
defaults: 25 test requests a second per key, 100 in all. Requests go to the router (the
component under test) unless --via edge (through the edge) or --via stack (the probe
straight to the live API, for comparison). The flood runs at the idle CPU priority: it
stands for testers elsewhere on the internet, whose CPU is not ours. Everything is bounded
in time and stays on 127.0.0.1.

With --overhead it measures instead what the router itself costs per request: the router
(`python -m router`, the test-mode pace off) in front of a trivial upstream (uvicorn with
llhttp and uvloop, as the stacks run, answering every request with a fixed 1 KiB JSON),
each a process of its own. A lean client (asyncio and llhttp, keep-alive connections)
sends POST /v1/charges with a small form body, --requests times at each concurrency
(1 and 16): straight to the upstream, then through the router, then, with
--baseline REV, through the router of git revision REV (its router/ package run from a
temporary copy), alternating in --rounds so that the machine's load falls on each alike.
It prints requests/s, p50/p99 and the latency each router adds, and the router's CPU time
per request read from /proc (the figure to trust on a loaded machine).

Usage: .venv/bin/python bench/router.py [--seconds S] [--rounds N] [--max-ratio R]
       .venv/bin/python bench/router.py --overhead [--requests N] [--baseline REV]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import httpx
import uvicorn

from strongroom.devkeys import load_or_create
from strongroom.marketplaces import (
    MarketplaceKeys,
    create_marketplace,
    dev_marketplace_keys,
    register_dev_marketplace,
)
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from strongroom.testcards import generated_card

HOST = "127.0.0.1"


@dataclass
class Probe:
    p50: float
    p99: float
    count: int
    errors: int


async def probe(url: str, headers: dict[str, str], seconds: float, pause: float) -> list[float]:
    """One live request at a time, `pause` apart, for `seconds`: latencies in ms (an
    answer other than 200 counts as infinitely slow)."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        await client.get(url)  # warm the connection
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            began = time.perf_counter()
            response = await client.get(url)
            took = (time.perf_counter() - began) * 1000
            latencies.append(took if response.status_code == 200 else float("inf"))
            await asyncio.sleep(pause)
    return latencies


def summary(latencies: list[float]) -> Probe:
    errors = sum(1 for x in latencies if x == float("inf"))
    q = statistics.quantiles(latencies, n=100)
    return Probe(q[49], q[98], len(latencies), errors)


Counts = tuple[int, int, int]  # served, refused with 503, other errors


def flood(
    base: str,
    keys: list[dict[str, str]],
    concurrency: int,
    seconds: float,
    out: mp.Queue[Counts],
) -> None:
    """The flood, in a process of its own at the lowest CPU priority."""
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)

    async def run() -> Counts:
        done = refused = other = 0
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=concurrency)

        async def worker(client: httpx.AsyncClient, n: int) -> None:
            nonlocal done, refused, other
            headers = keys[n % len(keys)]  # several testers, each with a key of their own
            while time.monotonic() < deadline:
                try:
                    if n % 2:
                        response = await client.post(
                            f"{base}/v1/customers", json={"name": "t"}, headers=headers
                        )
                    else:
                        response = await client.get(f"{base}/v1/charges?limit=10", headers=headers)
                except httpx.HTTPError:
                    other += 1
                    continue
                if response.status_code in (429, 503):
                    refused += 1
                elif response.status_code < 400:
                    done += 1
                else:
                    other += 1

        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            await asyncio.gather(*(worker(client, n) for n in range(concurrency)))
        return done, refused, other

    out.put(asyncio.run(run()))


def seed(base: str, edge: str, keys: MarketplaceKeys, live_headers: dict[str, str]) -> None:
    """A few live charges, so the probe reads real rows."""
    year = time.gmtime().tm_year + 2
    with httpx.Client(timeout=30) as client:
        for _ in range(10):
            card = client.post(
                edge + "/v1/cards",
                json={"number": generated_card(), "exp_month": 12, "exp_year": year, "cvc": "123"},
                headers={"host": "api.localhost", "authorization": f"Bearer {keys.pk_live}"},
            ).json()["id"]
            response = client.post(
                base + "/v1/charges",
                json={"card": card, "amount": 1000, "currency": "usd"},
                headers=live_headers,
            )
            response.raise_for_status()


# --overhead: the router's own cost, in front of a trivial upstream.

REPO = Path(__file__).resolve().parent.parent
CONCURRENCIES = (1, 16)
ANSWER = json.dumps({"id": "ch_" + "x" * 24, "object": "charge", "pad": "x" * 940}).encode()
BODY = b"amount=1000&currency=usd&source=tok_" + b"x" * 24 + b"&capture=true"
REQUEST = (
    b"POST /v1/charges HTTP/1.1\r\nhost: api.localhost\r\n"
    b"authorization: Bearer sk_test_" + b"k" * 24 + b"\r\n"
    b"x-request-id: req_0123456789abcdef01234567\r\n"
    b"content-type: application/x-www-form-urlencoded\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


async def trivial_upstream(scope: Any, receive: Any, send: Any) -> None:
    """Reads the body, answers 200 with ANSWER: an API stack that costs next to nothing."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(ANSWER))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": ANSWER})


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of a process (Linux /proc; as bench/checkout.py's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Exchange(asyncio.Protocol):
    """One keep-alive client connection: a request, then its whole answer, in turn."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] | None = None
        self.parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(self.parser.get_status_code())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(0)

    async def call(self) -> int:
        assert self.transport is not None
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(REQUEST)
        return await self.done


@dataclass
class Cell:
    """One target at one concurrency, summed over the rounds."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0
    errors: int = 0


async def load(port: int, n: int, c: int) -> tuple[list[float], float, int]:
    """`n` requests from `c` connections: latencies (s), elapsed time, answers not 200."""
    loop = asyncio.get_running_loop()
    connections = [(await loop.create_connection(_Exchange, HOST, port))[1] for _ in range(c)]
    latencies: list[float] = []
    errors = 0
    remaining = n

    async def worker(connection: _Exchange) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            status = await connection.call()
            latencies.append(time.perf_counter() - began)
            errors += status != 200
            if status == 0:
                return

    began = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - began
    for connection in connections:
        assert connection.transport is not None
        connection.transport.close()
    return latencies, elapsed, errors


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"{url} did not start")


@contextmanager
def started(
    argv: list[str], port: int, log: Path, env: dict[str, str], cwd: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """A process, up once it answers /healthz; `python -m` finds packages in `cwd` first."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=out, cwd=cwd)
    try:
        wait_until_up(f"http://{HOST}:{port}", process)
        yield process
    finally:
        process.terminate()
        process.wait(10)


def router_of(rev: str, into: Path) -> Path:
    """The router/ package of git revision `rev`, copied under `into`."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "router"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def overhead(args: argparse.Namespace) -> None:
    if not 100 <= args.requests <= 100_000:
        sys.exit("keep it bounded: 100-100000 requests")
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp, ExitStack() as stack:
        upstream_port, *ports = free_ports(3)
        upstream = f"http://{HOST}:{upstream_port}"
        stack.enter_context(
            started(
                [sys.executable, __file__, "--serve-upstream", str(upstream_port)],
                upstream_port,
                Path(tmp, "upstream.log"),
                {},
            )
        )
        unpaced = {
            "ROUTER_HOST": HOST,
            "ROUTER_TEST_URL": upstream,
            "ROUTER_LIVE_URL": upstream,
            "ROUTER_TEST_MAX_RATE": "0",
            "ROUTER_TEST_MAX_RATE_PER_KEY": "0",
        }
        variants = [("router (this tree)", REPO)]
        if args.baseline:
            old = Path(tmp, "baseline")
            old.mkdir()
            variants.append((f"router ({args.baseline})", router_of(args.baseline, old)))
        targets: list[tuple[str, int, int | None]] = [("direct", upstream_port, None)]
        for (name, cwd), port in zip(variants, ports, strict=False):
            env = {**unpaced, "ROUTER_PORT": str(port)}
            log = Path(tmp, f"router-{port}.log")
            argv = [sys.executable, "-m", "router"]
            process = stack.enter_context(started(argv, port, log, env, cwd))
            targets.append((name, port, process.pid))
        cells = {(name, c): Cell() for name, _, _ in targets for c in CONCURRENCIES}
        for _, port, _ in targets:
            asyncio.run(load(port, 200, 4))  # warm: connections pooled, code paths run
        share = args.requests // args.rounds
        for _ in range(args.rounds):
            for c in CONCURRENCIES:
                for name, port, pid in targets:
                    before = cpu_seconds(pid) if pid else 0.0
                    latencies, seconds, errors = asyncio.run(load(port, share, c))
                    cell = cells[(name, c)]
                    cell.cpu += cpu_seconds(pid) - before if pid else 0.0
                    cell.latencies += latencies
                    cell.seconds += seconds
                    cell.errors += errors
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"POST /v1/charges ({len(REQUEST)} bytes) answered with {len(ANSWER)} bytes of JSON; "
        f"{share * args.rounds} requests per row in {args.rounds} rounds"
    )
    print(f"load average at the end (1, 5, 15 min): {load_average} on {os.cpu_count()} CPUs")
    print(
        f"{'target':<24} {'conc':>4} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'+p50 ms':>8} {'router CPU ms/req':>18} {'errors':>6}"
    )
    for c in CONCURRENCIES:
        direct = statistics.quantiles(cells[("direct", c)].latencies, n=100)[49]
        for name, _, pid in targets:
            cell = cells[(name, c)]
            q = statistics.quantiles(cell.latencies, n=100)
            cpu = f"{cell.cpu * 1000 / len(cell.latencies):.3f}" if pid else "-"
            added = f"{(q[49] - direct) * 1000:.2f}" if pid else "-"
            print(
                f"{name:<24} {c:>4} {len(cell.latencies) / cell.seconds:>7.0f} "
                f"{q[49] * 1000:>7.2f} {q[98] * 1000:>7.2f} {added:>8} {cpu:>18} {cell.errors:>6}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="probing time in each condition, in all"
    )
    parser.add_argument(
        "--rounds", type=int, default=6, help="quiet/flooded alternations (--overhead: rounds)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="flood connections")
    parser.add_argument(
        "--flood-keys", type=int, default=4, help="testers in the flood, a marketplace each"
    )
    parser.add_argument("--test-workers", type=int, default=2)
    parser.add_argument("--test-priority", choices=["normal", "low", "idle"], default="idle")
    parser.add_argument("--pause-ms", type=float, default=5.0, help="between live probes")
    parser.add_argument(
        "--via",
        choices=["router", "edge", "stack"],
        default="router",
        help="where the live probe goes in (stack: the live API directly, for comparison)",
    )
    parser.add_argument("--max-ratio", type=float, default=None, help="exit 1 above this")
    parser.add_argument(
        "--overhead",
        action="store_true",
        help="measure the router's own cost per request in front of a trivial upstream",
    )
    parser.add_argument("--requests", type=int, default=4000, help="--overhead: per row")
    parser.add_argument(
        "--baseline", default=None, help="--overhead: also the router of this git revision"
    )
    parser.add_argument("--serve-upstream", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream is not None:
        uvicorn.run(
            trivial_upstream,
            host=HOST,
            port=args.serve_upstream,
            log_config=None,
            access_log=False,
            lifespan="off",
            http="httptools",
            loop="uvloop",
        )
        return
    if args.overhead:
        overhead(args)
        return
    if not 1 <= args.seconds <= 120 or not 1 <= args.concurrency <= 512:
        sys.exit("keep it bounded: 1-120 seconds, 1-512 connections")

    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        data_dir = Path(tmp)
        names = ("edge", "router", "api_test", "api_live", "vault", "fraud", "network", "merchant")
        ports = Ports(**dict(zip(names, free_ports(len(names)), strict=True)))
        opts = Options(
            data_dir=data_dir,
            ports=ports,
            api_test_workers=args.test_workers,
            api_test_priority=args.test_priority,
        )
        secrets = load_or_create(data_dir)
        keys = dev_marketplace_keys(data_dir)
        edge = f"http://{HOST}:{ports.edge}"
        base = edge if args.via == "edge" else f"http://{HOST}:{ports.router}"
        extra = {"host": "api.localhost"} if args.via == "edge" else {}
        live = {"authorization": f"Bearer {keys.sk_live}", **extra}
        probe_base = f"http://{HOST}:{ports.api_live}" if args.via == "stack" else base
        probe_url = f"{probe_base}/v1/charges?limit=10"
        pause = args.pause_ms / 1000
        with Supervisor(services(opts, secrets), HOST, data_dir / "logs") as supervisor:
            supervisor.start()
            register_dev_marketplace(opts, secrets, keys)
            testers = [keys] + [
                create_marketplace(opts, secrets, f"tester {n}") for n in range(1, args.flood_keys)
            ]
            test = [{"authorization": f"Bearer {t.sk_test}", **extra} for t in testers]
            seed(base, edge, keys, live)
            # Alternate quiet and flooded phases, so that a change in the machine's own
            # load (other work on it) falls on both conditions alike.
            quiet: list[float] = []
            flooded_samples: list[float] = []
            totals = [0, 0, 0]
            phase = args.seconds / args.rounds
            for _ in range(args.rounds):
                quiet += asyncio.run(probe(probe_url, live, phase, pause))
                results: mp.Queue[Counts] = mp.Queue()
                flooder = mp.Process(
                    target=flood, args=(base, test, args.concurrency, phase + 2.0, results)
                )
                flooder.start()
                time.sleep(1.0)  # let the flood reach its steady state
                flooded_samples += asyncio.run(probe(probe_url, live, phase, pause))
                counts = results.get(timeout=phase + 60)
                flooder.join()
                totals = [a + b for a, b in zip(totals, counts, strict=True)]
        unloaded, flooded = summary(quiet), summary(flooded_samples)
        done, refused, other = totals
        ratio = flooded.p99 / unloaded.p99
        phase = args.seconds / args.rounds
        print(
            f"live probe GET /v1/charges via {args.via}; test stack: {args.test_workers} "
            f"worker(s) at {args.test_priority} priority; flood: {args.concurrency} connections "
            f"with {args.flood_keys} test keys; "
            f"{args.rounds} rounds of {phase:.0f} s quiet then {phase:.0f} s flooded"
        )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"load average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
        print(f"{'':<10} {'p50 ms':>8} {'p99 ms':>8} {'probes':>7} {'errors':>7}")
        for name, p in (("unloaded", unloaded), ("flooded", flooded)):
            print(f"{name:<10} {p.p50:>8.2f} {p.p99:>8.2f} {p.count:>7} {p.errors:>7}")
        span = args.rounds * (args.seconds / args.rounds + 2.0)
        print(
            f"flood: {done / span:.0f} req/s served, {refused} refused by the router "
            f"(429/503), {other} other errors"
        )
        print(f"live p99 flooded / unloaded: {ratio:.2f}x")
        if args.max_ratio is not None and (ratio > args.max_ratio or flooded.errors):
            sys.exit(1)


if __name__ == "__main__":
    main()
