"""Chaos: a live workload under crashes at every named point and every fault on every hop;
then, with the stack quiet, the checker. Does any charge get lost, doubled or stuck?

Seeds 0 … N-1 each run one scenario (strongroom/chaos/scenarios.py: every crash point,
then every fault kind on every hop, in a cycle) with M intents of the seed's workload
(captured charges, authorisations then captures, charges then partial refunds,
authorisations then released by a cancel or a refund of all of it), on one
stack on embedded defaults with a fault proxy on every hop. Prints a line per run, a
table per fault kind (runs, charges, faults injected, lost, doubled, mismatched, stuck)
and the seed of every failed run; `--seed S` replays one. Exits 1 if any run failed.

Usage: .venv/bin/python bench/chaos.py [--seeds N] [--charges M] [--seed S]
    [--store postgresql]   (the vault's and the API stacks' databases; SQLite by default)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import tempfile
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import psycopg

from strongroom.chaos.harness import ChaosStack, RunResult
from strongroom.chaos.scenarios import SCENARIOS, scenario_for

COLUMNS = ("lost", "doubled", "mismatched", "stuck", "audit")
PG_ADMIN = os.environ.get("STRONGROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def new_database() -> str:
    """A new, empty PostgreSQL database for one run; its SQLAlchemy URL."""
    name = "strongroom_chaos_" + secrets.token_hex(6)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return (
        PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name
    )


def drop_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


async def run(
    seeds: list[int],
    charges: int,
    data_dir: Path,
    patience: float,
    databases: tuple[str, str, str] | None,
) -> list[RunResult]:
    results = []
    stack_of = ChaosStack(data_dir, patience=patience, quiet=patience, databases=databases)
    async with stack_of as stack:
        for seed in seeds:
            result = await stack.run(seed, scenario_for(seed), charges)
            results.append(result)
            verdict = (
                "ok"
                if result.ok
                else "FAILED " + ", ".join(f"{k} {v}" for k, v in result.counts.items() if v)
            )
            print(
                f"seed {seed:>4}  {result.scenario.name:<44} faults {result.faults:>3}  "
                f"lost answers {result.tally.lost_answers:>3}  {verdict}",
                flush=True,
            )
    return results


def table(results: list[RunResult]) -> None:
    rows: dict[str, list[RunResult]] = defaultdict(list)
    for result in results:
        rows[result.scenario.kind].append(result)
    print(
        f"\n{'fault kind':<12} {'runs':>5} {'charges':>8} {'faults':>7} "
        + " ".join(f"{c:>10}" for c in COLUMNS)
    )
    for kind, runs in rows.items():
        total = {c: sum(r.counts[c] for r in runs) for c in COLUMNS}
        print(
            f"{kind:<12} {len(runs):>5} {sum(r.charges for r in runs):>8} "
            f"{sum(r.faults for r in runs):>7} " + " ".join(f"{total[c]:>10}" for c in COLUMNS)
        )
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"\nFAILED seed {r.seed} ({r.scenario.name}); replay: bench/chaos.py --seed {r.seed}")
        for finding in r.findings[:10]:
            print(f"  {finding}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=len(SCENARIOS), help="runs: seeds 0…N-1")
    parser.add_argument("--charges", type=int, default=20, help="intents per run")
    parser.add_argument("--seed", type=int, action="append", help="replay this seed (repeatable)")
    parser.add_argument(
        "--patience",
        type=float,
        default=30.0,
        help="seconds the merchant retries a lost answer, and the harness "
        "waits for unfinished work",
    )
    parser.add_argument("--data-dir", type=Path, help="keep the stack's files here")
    parser.add_argument(
        "--store",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the vault's and the API stacks' databases: SQLite files (the embedded default) "
        f"or new PostgreSQL databases on {PG_ADMIN} (STRONGROOM_TEST_PG), dropped afterwards",
    )
    args = parser.parse_args()
    # Stopped by a signal as by Ctrl-C: the stack it started is stopped, never left behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    seeds = args.seed or list(range(args.seeds))
    print(f"{len(seeds)} runs of {args.charges} intents; {len(SCENARIOS)} scenarios in the cycle")
    with ExitStack() as cleanup:
        data_dir = args.data_dir or Path(
            cleanup.enter_context(tempfile.TemporaryDirectory(prefix="strongroom-chaos-"))
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        databases = None
        if args.store == "postgresql":
            made = (new_database(), new_database(), new_database())
            for url in made:
                cleanup.callback(drop_database, url)
            databases = made
        try:
            results = asyncio.run(run(seeds, args.charges, data_dir, args.patience, databases))
        except KeyboardInterrupt:
            print("interrupted: the stack is stopped, no table", flush=True)
            raise SystemExit(130) from None
    table(results)
    raise SystemExit(0 if all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
