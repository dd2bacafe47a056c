"""Tokenising alone: POST /v1/cards through the edge, and the vault's CPU per card.

Starts a fresh stack as bench/checkout.py does (PostgreSQL with Redis counters by default,
or SQLite files), the vault's tokenising pace lifted, then tokenises live cards (a
generated Luhn-valid number each) at each concurrency and prints tokenisations/s, p50 and
p99, and the CPU time the vault and the edge spent per card, read from /proc (the figure
to trust on a loaded machine; throughput and latency move with the machine's load).
bench/vault_tokenize.py compares the same request with OpenBao on SQLite.

Usage: .venv/bin/python bench/tokenise_cpu.py [--requests N] [--store postgresql|sqlite]
    [--concurrency 1,16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import checkout  # type: ignore[import-not-found]  # the sibling script: stack, workload, measures


async def tokenise_only(
    n: int, concurrencies: list[int], data_dir: Path, store: dict[str, str]
) -> None:
    async def body(edge: str, keys: list[checkout.MarketplaceKeys], pids: dict[str, int]) -> None:
        print(f"{n} live cards per figure; load average {os.getloadavg()[0]:.1f} at the start")
        print(
            f"{'conc':>4} | {'cards/s':>8} {'p50 ms':>7} {'p99 ms':>7} | vault CPU ms  edge CPU ms"
        )
        for c in concurrencies:
            workload = checkout.Workload("live", keys)
            before = {name: checkout.cpu_seconds(pids[name]) for name in ("vault", "edge")}
            timing = await checkout.measure(workload.tokenise, n, c, edge)
            spent = {
                name: (checkout.cpu_seconds(pids[name]) - was) * 1000 / n
                for name, was in before.items()
            }
            print(
                f"{c:>4} | {timing.rps:>8.1f} {timing.p50:>7.1f} {timing.p99:>7.1f} | "
                f"{spent['vault']:>12.2f} {spent['edge']:>11.2f}"
            )
        print(f"load average {os.getloadavg()[0]:.1f} at the end")

    # Live cards all go to one marketplace: the stack needs no more than one.
    await checkout.with_stack(1, data_dir, store, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--store", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--concurrency", default="1,16")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        if args.store == "sqlite":
            asyncio.run(tokenise_only(args.requests, concurrencies, Path(tmp), {}))
            return
        with checkout.postgres_and_redis() as databases:
            asyncio.run(tokenise_only(args.requests, concurrencies, Path(tmp), databases))


if __name__ == "__main__":
    main()
