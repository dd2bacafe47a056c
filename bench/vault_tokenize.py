"""Tokenisations per second through the edge, beside OpenBao doing the same job, in one run.

Starts the stack on embedded defaults (SQLite with synchronous=FULL, the local keyring,
an fsync'd audit entry for every card) on free loopback ports, and an OpenBao server
whose storage is durable too (integrated Raft storage, fsync'd). Then, with the same
concurrency and number of cards:

  strongroom edge    POST /v1/cards through the edge: check, encrypt, store, audit
  strongroom direct  the same straight to the vault (no edge), for reference
  openbao raft       per card: Transit encrypt of the card, then a KV v2 write of the
                     ciphertext under a new id: what a vault built on OpenBao would do

and prints tokenisations/s, p50 and p99, and Strongroom's ratio to OpenBao.
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
import socket
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
from strongroom.marketplaces import dev_marketplace
from strongroom.stack import Options, Ports, services
from strongroom.supervisor import Supervisor
from strongroom.testcards import generated_card

Row = tuple[str, float, float, float]


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) of each child process, by the module it runs (linux /proc)."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
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


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def measure(
    name: str, call: Callable[[httpx.AsyncClient], Awaitable[None]], n: int, c: int
) -> Row:
    """`n` calls from `c` concurrent workers: (name, calls/s, p50 ms, p99 ms)."""
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
        elapsed = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return name, len(latencies) / elapsed, q[49] * 1000, q[98] * 1000


def card() -> dict[str, object]:
    year = dt.date.today().year + 2
    return {"number": generated_card(), "exp_month": 12, "exp_year": year, "cvc": "123"}


def check(response: httpx.Response, name: str) -> None:
    if response.status_code >= 300:
        raise SystemExit(f"{name}: {response.status_code} {response.text[:200]}")


@contextmanager
def openbao_raft(work: Path) -> Iterator[tuple[str, str]]:
    """A one-node OpenBao with durable Raft storage, initialised and unsealed: (url, token)."""
    port, cluster_port = free_ports(2)
    url = f"http://127.0.0.1:{port}"
    config = work / "bao.hcl"
    (work / "raft").mkdir()
    config.write_text(
        f'storage "raft" {{\n  path = "{work / "raft"}"\n  node_id = "bench"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'api_addr = "{url}"\ncluster_addr = "http://127.0.0.1:{cluster_port}"\n'
        "disable_mlock = true\n"
    )
    bao = Path(sys.executable).parent / "bao"
    log = (work / "bao.log").open("wb")
    env = {**os.environ, "HOME": str(work)}
    process = subprocess.Popen(
        [str(bao), "server", f"-config={config}"], stdout=log, stderr=log, env=env
    )
    try:
        wait_for(lambda: httpx.get(url + "/v1/sys/health", timeout=1).status_code == 501)
        body = {"secret_shares": 1, "secret_threshold": 1}
        init = httpx.put(url + "/v1/sys/init", json=body, timeout=120)
        check(init, "openbao init")
        keys = init.json()
        unseal = {"key": keys["keys_base64"][0]}
        httpx.put(url + "/v1/sys/unseal", json=unseal, timeout=120).raise_for_status()
        wait_for(lambda: httpx.get(url + "/v1/sys/health", timeout=1).status_code == 200)
        token = keys["root_token"]
        headers = {"X-Vault-Token": token}
        for mount, body in (
            ("transit", {"type": "transit"}),
            ("secret", {"type": "kv", "options": {"version": "2"}}),
        ):
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


async def run(n: int, c: int, work: Path) -> None:
    data_dir = work / "stack"
    opts = Options(data_dir=data_dir, ports=Ports(*free_ports(8)))
    secrets_ = load_or_create(data_dir)
    keys = dev_marketplace(opts, secrets_)
    pk = {"authorization": f"Bearer {keys.pk_test}", "host": "api.localhost"}

    def tokenise(url: str, name: str) -> Callable[[httpx.AsyncClient], Awaitable[None]]:
        async def call(client: httpx.AsyncClient) -> None:
            check(await client.post(url + "/v1/cards", json=card(), headers=pk), name)

        return call

    stack = services(opts, secrets_)
    with Supervisor(stack, opts.host, data_dir / "logs") as supervisor:
        supervisor.start()
        edge = f"http://127.0.0.1:{opts.ports.edge}"
        vault = f"http://127.0.0.1:{opts.ports.vault}"
        before = cpu_seconds()
        rows = [await measure("strongroom edge", tokenise(edge, "edge"), n, c)]
        spent = {k: (v - before.get(k, 0.0)) * 1000 / (n + c) for k, v in cpu_seconds().items()}
        rows.append(await measure("strongroom direct", tokenise(vault, "vault"), n, c))
    (work / "bao").mkdir()
    with openbao_raft(work / "bao") as (url, token):
        headers = {"X-Vault-Token": token}

        async def openbao(client: httpx.AsyncClient) -> None:
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

        rows.append(await measure("openbao raft", openbao, n, c))
    bao = rows[-1][1]
    print(f"{n} cards each, concurrency {c}, loopback, durable writes on both sides")
    print(f"{'':<18} {'cards/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs openbao':>11}")
    for name, rate, p50, p99 in rows:
        print(f"{name:<18} {rate:>8.1f} {p50:>8.1f} {p99:>8.1f} {rate / bao:>10.2f}x")
    busy = ", ".join(f"{k} {v:.2f}" for k, v in sorted(spent.items()) if v >= 0.01)
    print(f"CPU ms per card through the edge, by process: {busy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-") as tmp:
        asyncio.run(run(args.requests, args.concurrency, Path(tmp)))


if __name__ == "__main__":
    main()
