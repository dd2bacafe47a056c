"""Tokenisations per second through the edge, beside OpenBao doing the same job, in one run.

Starts the stack on embedded defaults (SQLite with synchronous=FULL, the local keyring,
an fsync'd audit entry for every card) on free loopback ports, and an OpenBao server
whose storage is durable too (integrated Raft storage, fsync'd). Then, with the same
concurrency and number of cards:

  strongroom edge    POST /v1/cards through the edge: check, encrypt, store, audit
  strongroom direct  the same straight to the vault (no edge), for reference
  openbao raft+audit per card: Transit encrypt of the card, then a KV v2 write of the
                     ciphertext under a new id, with a file audit device on: what a
                     vault built on OpenBao would do in production
  openbao raft       the same without an audit device, for reference

and prints tokenisations/s, p50 and p99, and each one's ratio to OpenBao with its audit.
Usage: .venv/bin/python bench/vault_tokenize.py [--requests N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from strongroom.devkeys import load_or_create
from strongroom.marketplaces import dev_marketplace_keys, register_dev_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor, free_ports
from strongroom.testcards import generated_card


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) of each child process, by the module it runs (linux /proc)."""
    tick, out = os.sysconf("SC_CLK_TCK"), dict[str, float]()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"-m" in cmdline:
            name = cmdline[cmdline.index(b"-m") + 1].decode()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


async def measure(
    call: Callable[[httpx.AsyncClient], Awaitable[None]], n: int, c: int
) -> tuple[list[float], float]:
    """`n` calls from `c` concurrent workers: their latencies and the time they took."""
    latencies: list[float] = []
    remaining = n

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call(client)
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        for _ in range(c):
            await call(client)  # warm the connections
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(c)))
        return latencies, time.perf_counter() - began


def card() -> dict[str, object]:
    year = dt.date.today().year + 2
    return {"number": generated_card(), "exp_month": 12, "exp_year": year, "cvc": "123"}


def check(response: httpx.Response, name: str) -> None:
    if response.status_code >= 300:
        raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")


@contextmanager
def openbao_raft(work: Path, audit: bool) -> Iterator[tuple[str, str]]:
    """A one-node OpenBao with durable Raft storage, initialised and unsealed: (url, token).

    With `audit`, its file audit device records every request, as a production HashiCorp
    Vault would (Strongroom audits every tokenisation: comparing like with like)."""
    work.mkdir()
    port, cluster_port = free_ports(2)
    url = f"http://127.0.0.1:{port}"
    config = work / "bao.hcl"
    (work / "raft").mkdir()
    hcl = (
        f'storage "raft" {{\n  path = "{work / "raft"}"\n  node_id = "bench"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'api_addr = "{url}"\ncluster_addr = "http://127.0.0.1:{cluster_port}"\n'
        "disable_mlock = true\n"
    )
    if audit:  # OpenBao takes audit devices from its configuration only
        hcl += f'audit "file" "file" {{\n  options {{ file_path = "{work / "audit.log"}" }}\n}}\n'
    config.write_text(hcl)
    bao = Path(sys.executable).parent / "bao"
    log = (work / "bao.log").open("wb")
    env = {**os.environ, "HOME": str(work)}
    process = subprocess.Popen(
        [str(bao), "server", f"-config={config}"], stdout=log, stderr=log, env=env
    )
    try:
        wait_for(lambda: httpx.get(url + "/v1/sys/health", timeout=1).status_code == 501)
        shares = {"secret_shares": 1, "secret_threshold": 1}
        init = httpx.put(url + "/v1/sys/init", json=shares, timeout=120)
        check(init, "openbao init")
        keys = init.json()
        unseal = {"key": keys["keys_base64"][0]}
        httpx.put(url + "/v1/sys/unseal", json=unseal, timeout=120).raise_for_status()
        wait_for(lambda: httpx.get(url + "/v1/sys/health", timeout=1).status_code == 200)
        token = keys["root_token"]
        headers = {"X-Vault-Token": token}
        mounts: list[tuple[str, dict[str, object]]] = [
            ("transit", {"type": "transit"}),
            ("secret", {"type": "kv", "options": {"version": "2"}}),
        ]
        for mount, body in mounts:
            mounted = httpx.post(
                f"{url}/v1/sys/mounts/{mount}", json=body, headers=headers, timeout=60
            )
            check(mounted, mount)
        key = httpx.post(f"{url}/v1/transit/keys/cards", json={}, headers=headers, timeout=60)
        check(key, "transit key")
        yield url, token
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def wait_for(ready: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("a server did not become ready")


async def run(n: int, c: int, rounds: int, work: Path) -> None:
    data_dir = work / "stack"
    opts = Options(data_dir=data_dir, ports=Ports(*free_ports(8)))
    secrets_ = load_or_create(data_dir)
    keys = dev_marketplace_keys(data_dir)
    # Live mode: test mode takes only the documented test cards, not generated numbers.
    pk = {"authorization": f"Bearer {keys.pk_live}", "host": "api.localhost"}
    # One client address and one key tokenise everything here: no pacing (docs/vault.md).
    os.environ.setdefault("VAULT_TOKENISE_PER_CLIENT_MINUTE", "100000000")
    os.environ.setdefault("VAULT_TOKENISE_PER_KEY_MINUTE", "100000000")

    def tokenise(url: str, name: str) -> Callable[[httpx.AsyncClient], Awaitable[None]]:
        async def call(client: httpx.AsyncClient) -> None:
            check(await client.post(url + "/v1/cards", json=card(), headers=pk), name)

        return call

    def openbao(url: str, token: str) -> Callable[[httpx.AsyncClient], Awaitable[None]]:
        headers = {"X-Vault-Token": token}

        async def call(client: httpx.AsyncClient) -> None:
            secret = json.dumps(card()).encode()
            encrypted = await client.post(
                url + "/v1/transit/encrypt/cards",
                json={"plaintext": base64.b64encode(secret).decode()},
                headers=headers,
            )
            check(encrypted, "transit encrypt")
            record = {"data": {"card": encrypted.json()["data"]["ciphertext"], "last4": "0000"}}
            path = f"{url}/v1/secret/data/cards/card_{secrets.token_urlsafe(18)}"
            check(await client.post(path, json=record, headers=headers), "kv write")

        return call

    stack = services(opts, secrets_)
    with (
        Supervisor(stack, opts.host, data_dir / "logs") as supervisor,
        openbao_raft(work / "bao", audit=False) as bare,
        openbao_raft(work / "bao-audit", audit=True) as audited,
    ):
        supervisor.start()
        register_dev_marketplace(opts, secrets_, keys)
        calls = {
            "strongroom edge": tokenise(f"http://127.0.0.1:{opts.ports.edge}", "edge"),
            "strongroom direct": tokenise(f"http://127.0.0.1:{opts.ports.vault}", "vault"),
            "openbao raft": openbao(*bare),
            "openbao raft+audit": openbao(*audited),
        }
        results: dict[str, tuple[list[float], float]] = {name: ([], 0.0) for name in calls}
        spent: dict[str, float] = {}
        # Rounds taken in turn: a change in the machine's load falls on every contender.
        for _ in range(rounds):
            for name, call in calls.items():
                before = cpu_seconds()
                latencies, elapsed = await measure(call, n // rounds, c)
                if name == "strongroom edge":
                    for k, v in cpu_seconds().items():
                        spent[k] = spent.get(k, 0.0) + v - before.get(k, 0.0)
                results[name][0].extend(latencies)
                results[name] = (results[name][0], results[name][1] + elapsed)
    rate = {name: len(lat) / elapsed for name, (lat, elapsed) in results.items()}
    print(f"{n} cards each in {rounds} rounds, concurrency {c}, loopback, durable writes")
    print(f"{'':<19} {'cards/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs openbao+audit':>17}")
    for name, (latencies, _) in results.items():
        q = statistics.quantiles(latencies, n=100)
        ratio = rate[name] / rate["openbao raft+audit"]
        p50, p99 = q[49] * 1000, q[98] * 1000
        print(f"{name:<19} {rate[name]:>8.1f} {p50:>8.1f} {p99:>8.1f} {ratio:>16.2f}x")
    per_card = {k: v * 1000 / n for k, v in spent.items() if v * 1000 / n >= 0.01}
    busy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_card.items()))
    print(f"CPU ms per card through the edge, by process: {busy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        asyncio.run(run(args.requests, args.concurrency, args.rounds, Path(tmp)))


if __name__ == "__main__":
    main()
