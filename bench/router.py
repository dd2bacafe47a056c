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

Usage: .venv/bin/python bench/router.py [--seconds S] [--rounds N] [--max-ratio R]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="probing time in each condition, in all"
    )
    parser.add_argument("--rounds", type=int, default=6, help="quiet/flooded alternations")
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
    args = parser.parse_args()
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
