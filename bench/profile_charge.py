"""Where each service spends its CPU on a charge: py-spy on every process of a fresh stack.

Starts the stack as bench/checkout.py does (the router's test-mode pace and the vault's
tokenising pace lifted), each service under `py-spy record`, tokenises cards, then charges
them at the chosen concurrency in the chosen mode; then writes one collapsed-stack file per
service and prints each service's hottest frames, by own time and by inclusive time.

py-spy is not a dependency of Strongroom: `.venv/bin/pip install py-spy` first.

Usage: .venv/bin/python bench/profile_charge.py [--requests N] [--mode live] [--store postgresql]
    [--concurrency 16] [--out DIR] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import checkout  # type: ignore[import-not-found]  # the sibling script: stack, workload, measures

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")


def _spied_popen(out: Path) -> Any:
    """subprocess.Popen that starts every `python -m service` under py-spy."""
    real = subprocess.Popen
    started: Counter[str] = Counter()

    def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        if len(args) == 3 and args[1] == "-m":
            name = args[2]
            started[name] += 1  # the API twice: test first, then live
            target = out / f"{name}.{started[name]}.txt"
            # --gil: only the thread holding the GIL, so time blocked on I/O is not counted;
            # 250 samples a second (at py-spy's 100 a run gave the vault a few hundred).
            spy = ["record", "--gil", "-r", "250", "-f", "raw", "-o", str(target), "--"]
            args = [PY_SPY, *spy, *args]
        return real(args, **kwargs)

    return popen


def _stop_spies(pids: dict[str, int]) -> None:
    """SIGINT to each py-spy and SIGTERM to the service under it: py-spy then writes."""
    for pid in pids.values():
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        os.kill(pid, signal.SIGINT)
        for child in children:
            os.kill(int(child), signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(pid) for pid in pids.values()):
        time.sleep(0.2)  # py-spy writes its file once the service has exited


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


# Stacks of starting up (imports, migrations, the lifespan) are not the charges' work.
_STARTUP = ("_find_and_load", "lifespan", "(alembic/", "migrate (")


def _area(frame: str) -> str:
    """The package a frame's file belongs to: `sqlalchemy`, `asyncio`, `api`, …"""
    path = frame.rpartition("(")[2]
    return path.split("/", 1)[0] if "/" in path else path.split(".py")[0].split(":")[0]


def top_frames(path: Path, top: int) -> None:
    """The hottest frames of one service's stacks: own time, inclusive time, by package."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = startup = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        if any(mark in stack for mark in _STARTUP):
            startup += n
            continue
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        areas[_area(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return
    print(f"\n== {path.name}: {total} samples holding the GIL ({startup} more starting up)")
    print(
        "  own time by package: "
        + ", ".join(f"{area} {100 * n / total:.0f}%" for area, n in areas.most_common(12))
    )
    print("  own time:")
    for frame, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("  inclusive:")
    for frame, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")


async def workload(
    edge: str, keys: list[Any], mode: str, n: int, c: int, pids: dict[str, int]
) -> None:
    load = checkout.Workload(mode, keys)
    await checkout.measure(load.tokenise, n, c, edge)
    before = {name: checkout.cpu_seconds(pid) for name, pid in pids.items()}
    timing = await checkout.measure(load.charge, n, c, edge)
    cpu = {k: (checkout.cpu_seconds(pid) - before[k]) * 1000 / n for k, pid in pids.items()}
    print(f"{mode} c{c}: {timing.rps:.1f} charges/s p50 {timing.p50:.1f} p99 {timing.p99:.1f} ms")
    print("CPU ms per charge (py-spy's own included):")
    print("  " + "  ".join(f"{k} {v:.2f}" for k, v in cpu.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--mode", default="live", choices=("test", "live"))
    parser.add_argument("--store", default="postgresql", choices=("sqlite", "postgresql"))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="sr-prof-")))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    # strongroom.supervisor starts each service with subprocess.Popen: under py-spy now.
    setattr(subprocess, "Popen", _spied_popen(args.out))  # noqa: B010

    async def run(store: dict[str, str], data_dir: Path) -> None:
        async def measured(edge: str, keys: list[Any], pids: dict[str, int]) -> None:
            await workload(edge, keys, args.mode, args.requests, args.concurrency, pids)
            _stop_spies(pids)

        await checkout.with_stack(args.requests, data_dir, store, measured)

    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="strongroom-prof-") as tmp:
        store: dict[str, str] = {}
        if args.store == "postgresql":
            store = stack.enter_context(checkout.postgres_and_redis())
        asyncio.run(run(store, Path(tmp)))
    report(args.out, args.top)


def report(out: Path, top: int) -> None:
    for path in sorted(out.glob("*.txt")):
        if path.stat().st_size:
            top_frames(path, top)
    print(f"\ncollapsed stacks in {out} (flamegraph.pl or speedscope read them)")


if __name__ == "__main__":
    main()
