"""The vault's CPU per charge, an older tree's against this one's, measured side by side.

Two stacks as bench/checkout.py starts them (PostgreSQL and Redis), one running the vault
(and every service) of `--old` (a checkout: its directory goes first on PYTHONPATH), one
this tree's. For each mode and concurrency, rounds of `--batch` charges alternate between
them (and which goes first), so that both see the same load of a shared machine; each
side's vault CPU per charge is read from /proc, summed over the rounds, and printed with
the load average. Run it from a directory holding no checkout (e.g. /tmp): `python -m`
puts the working directory first on the services' path.

Usage: .venv/bin/python bench/vault_ab.py --old /tmp/old [--batch 60] [--rounds 4]
    [--modes test,live]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import checkout  # type: ignore[import-not-found]  # the sibling script: stack, workload

Side = tuple[str, list[Any], dict[str, int]]  # edge URL, marketplaces' keys, pids


async def compare(old: Side, new: Side, modes: list[str], batch: int, rounds: int) -> None:
    for mode in modes:
        loads = {
            name: checkout.Workload(mode, side[1]) for name, side in (("old", old), ("new", new))
        }
        for c in checkout.CONCURRENCIES:
            cpu = {"old": 0.0, "new": 0.0}
            load = []
            for r in range(rounds):
                sides = (("old", old), ("new", new))
                for name, (edge, _, pids) in sides if r % 2 == 0 else sides[::-1]:
                    await checkout.measure(loads[name].tokenise, batch, c, edge)
                    before = checkout.cpu_seconds(pids["vault"])
                    await checkout.measure(loads[name].charge, batch, c, edge)
                    cpu[name] += checkout.cpu_seconds(pids["vault"]) - before
                    load.append(os.getloadavg()[0])
            per = {k: v * 1000 / (batch * rounds) for k, v in cpu.items()}
            print(
                f"{mode} c{c:<2}: vault old {per['old']:.2f} new {per['new']:.2f} ms CPU/charge "
                f"({100 * (per['new'] / per['old'] - 1):+.0f}%); load {min(load):.1f}-"
                f"{max(load):.1f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--modes", default="test,live")
    args = parser.parse_args()
    n = args.batch * args.rounds  # charges per concurrency and mode, per side

    def stack(store: dict[str, str], tmp: str, body: Callable[..., Awaitable[None]]) -> Any:
        return checkout.with_stack(n, Path(tmp), store, body)

    with ExitStack() as stacks:
        stores = [stacks.enter_context(checkout.postgres_and_redis()) for _ in range(2)]
        # Kept afterwards: each stack's logs are in its data directory's logs/.
        tmps = [tempfile.mkdtemp(prefix=f"strongroom-ab-{side}-") for side in ("old", "new")]
        print("data directories (logs/ in each):", *tmps, flush=True)

        async def run() -> None:
            async def with_old(edge: str, keys: list[Any], pids: dict[str, int]) -> None:
                old = (edge, keys, pids)
                os.environ.pop("PYTHONPATH", None)  # the new stack: this tree's code

                async def with_new(edge: str, keys: list[Any], pids: dict[str, int]) -> None:
                    await compare(
                        old, (edge, keys, pids), args.modes.split(","), args.batch, args.rounds
                    )

                await stack(stores[1], tmps[1], with_new)

            os.environ["PYTHONPATH"] = str(args.old.resolve())  # the old stack's services
            await stack(stores[0], tmps[0], with_old)

        asyncio.run(run())


if __name__ == "__main__":
    main()
