"""The vault's CPU per charge (and per idle second), optionally under py-spy.

A fresh stack as bench/checkout.py starts it (PostgreSQL and Redis), then for each mode
tokenises and charges `--requests` cards at concurrency 1 and 16, printing the vault's CPU
per charge from /proc with the load average; `--idle` seconds of a quiet stack are measured
first. `--spy DIR` records the vault's stacks with py-spy (raw, collapsed) during each
charging phase, one file per mode and concurrency.

Old against new: run it from each tree, e.g. `cd /tmp/old && PYTHONPATH=/tmp/old
/path/to/.venv/bin/python bench/vault_cpu.py`.

Usage: .venv/bin/python bench/vault_cpu.py [--requests 300] [--modes test,live] [--idle 20]
    [--spy DIR] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import checkout  # type: ignore[import-not-found]  # the sibling script: stack, workload


def _spy(py_spy: str, pid: int, out: Path) -> subprocess.Popen[bytes]:
    # --gil: only the thread holding the GIL, so time blocked on I/O is not counted.
    args = [py_spy, "record", "--gil", "-r", "200", "-f", "raw", "-o", str(out), "--pid", str(pid)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--modes", default="test,live")
    parser.add_argument("--idle", type=float, default=0.0, help="seconds of a quiet stack")
    parser.add_argument("--spy", type=Path, default=None)
    parser.add_argument("--py-spy", default="py-spy")
    args = parser.parse_args()
    n = args.requests

    async def measured(edge: str, keys: list[Any], pids: dict[str, int]) -> None:
        vault = pids["vault"]
        if args.idle:
            time.sleep(2)
            spy = None
            if args.spy is not None:
                args.spy.mkdir(parents=True, exist_ok=True)
                spy = _spy(args.py_spy, vault, args.spy / "vault.idle.txt")
            before = checkout.cpu_seconds(vault)
            time.sleep(args.idle)
            idle = (checkout.cpu_seconds(vault) - before) * 1000 / args.idle
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait()
            print(f"idle: vault {idle:.2f} ms CPU per second", flush=True)
        for mode in args.modes.split(","):
            load = checkout.Workload(mode, keys)
            for c in checkout.CONCURRENCIES:
                tokenise_before = checkout.cpu_seconds(vault)
                await checkout.measure(load.tokenise, n, c, edge)
                tokenise = (checkout.cpu_seconds(vault) - tokenise_before) * 1000 / n
                spy = None
                if args.spy is not None:
                    args.spy.mkdir(parents=True, exist_ok=True)
                    spy = _spy(args.py_spy, vault, args.spy / f"vault.{mode}.c{c}.txt")
                    time.sleep(1)
                before = {name: checkout.cpu_seconds(pid) for name, pid in pids.items()}
                user, system = checkout.user_system(vault)
                timing = await checkout.measure(load.charge, n, c, edge)
                cpu = {k: (checkout.cpu_seconds(p) - before[k]) * 1000 / n for k, p in pids.items()}
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait()
                load1 = os.getloadavg()[0]
                user2, system2 = checkout.user_system(vault)
                split = (
                    f"user {(user2 - user) * 1000 / n:.2f} sys {(system2 - system) * 1000 / n:.2f}"
                )
                print(
                    f"{mode} c{c:<2}: vault {cpu['vault']:.2f} ms CPU/charge ({split}), all "
                    f"{sum(cpu.values()):.2f}; p50 {timing.p50:.1f} ms, {timing.rps:.0f}/s; "
                    f"load {load1:.1f}; tokenise: vault {tokenise:.2f} ms",
                    flush=True,
                )

    with tempfile.TemporaryDirectory(prefix="strongroom-vcpu-") as tmp:
        with checkout.postgres_and_redis() as store:
            asyncio.run(checkout.with_stack(n, Path(tmp), store, measured))
        routes: Counter[str] = Counter()
        for path in Path(tmp, "logs").glob("vault*"):
            for line in path.read_text().splitlines():
                if '"event":"request"' in line:
                    entry = json.loads(line)
                    routes[f"{entry['method']} {entry['route']}"] += 1
        print("vault requests:", dict(routes))


if __name__ == "__main__":
    main()
