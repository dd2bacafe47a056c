"""Checkout throughput through the whole stack, beside a direct-to-vault baseline.

Starts the stack on embedded defaults (SQLite, local keyring) on free ports, then runs,
each with the same concurrency and request count:

  vault direct   POST /v1/cards straight to the vault (no edge): the baseline
  edge tokenise  POST /v1/cards through the edge
  edge charge    POST /v1/charges through edge, router, API, fraud and vault

and prints requests/s, p50 and p99 for each, and the ratios against the baseline.
Usage: .venv/bin/python bench/checkout.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from strongroom.devkeys import load_or_create
from strongroom.marketplaces import dev_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from strongroom.testcards import generated_card


async def measure(
    name: str, call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]], n: int, c: int
) -> tuple[str, float, float, float]:
    latencies: list[float] = []
    remaining = n

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            response = await call(client)
            latencies.append(time.perf_counter() - start)
            if response.status_code >= 400:
                raise SystemExit(f"{name}: {response.status_code} {response.text}")

    async with httpx.AsyncClient(timeout=60) as client:
        await call(client)  # warm the connection
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(c)))
        elapsed = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return name, len(latencies) / elapsed, q[49] * 1000, q[98] * 1000


async def run(n: int, c: int, data_dir: Path) -> None:
    opts = Options(data_dir=data_dir, ports=Ports(*free_ports(7)))
    secrets = load_or_create(data_dir)
    keys = dev_marketplace(opts, secrets)
    edge = f"http://127.0.0.1:{opts.ports.edge}"
    vault = f"http://127.0.0.1:{opts.ports.vault}"
    pk = {"authorization": f"Bearer {keys.pk_test}", "host": "api.localhost"}
    sk = {"authorization": f"Bearer {keys.sk_test}", "host": "api.localhost"}
    year = dt.date.today().year + 2
    # A card of its own for every charge, so fraud's per-card velocity rule stays quiet.
    numbers = [generated_card() for _ in range(2 * n + 2)]
    tokens: list[str] = []

    def card() -> dict[str, object]:
        return {"number": numbers.pop(), "exp_month": 12, "exp_year": year, "cvc": "123"}

    async def tokenise(h: httpx.AsyncClient, url: str) -> httpx.Response:
        response = await h.post(url + "/v1/cards", json=card(), headers=pk)
        tokens.append(response.json().get("id", ""))
        return response

    async def charge(h: httpx.AsyncClient) -> httpx.Response:
        body = {"card": tokens.pop(), "amount": 100, "currency": "usd"}
        response = await h.post(edge + "/v1/charges", json=body, headers=sk)
        if response.json().get("status") != "succeeded":
            raise SystemExit(f"charge did not succeed: {response.text}")
        return response

    with Supervisor(services(opts, secrets), opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        rows = [
            await measure("vault direct", lambda h: tokenise(h, vault), n, c),
            await measure("edge tokenise", lambda h: tokenise(h, edge), n, c),
            await measure("edge charge", charge, n, c),
        ]
    base = rows[0][1]
    print(f"{n} requests each, concurrency {c}, SQLite, one process per service")
    print(f"{'':<14} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs direct':>10}")
    for name, rps, p50, p99 in rows:
        print(f"{name:<14} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f} {rps / base:>9.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        asyncio.run(run(args.requests, args.concurrency, Path(tmp)))


if __name__ == "__main__":
    main()
