"""Fraud assessments per second and their latency: the rules engine with 30 rules and
velocity in Redis, beside the 3-rule scorer it replaced, in one run.

  engine  in-process  Assessor.assess: attributes, one Redis script call, 30 rules,
                      the decision recorded in SQLite, a clearance signed
  engine  http        POST /v1/assessments to `python -m fraud` (uvicorn, one process)
  3-rule  in-process  the old fraud.domain.rules.assess with its Redis counter
  3-rule  http        the old `python -m fraud`, same Redis
  before  ...         with --before REF: the engine as it was at that git ref, same traffic

Latency is measured one request at a time on a kept-alive connection (p50, p99);
throughput with --concurrency requests in flight. CPU per assessment is the process's
CPU time from /proc (the server's, for HTTP; the decision writer's thread included) over
the assessments it made: 1 / that is assessments per core-second, the figure that does
not depend on how busy the machine is. The Redis server's CPU per assessment (its script
runs there) is read the same way when it runs on this machine (by INFO's process_id), and
shown after it: other clients of that server count in it too, so a private one
(`redis-server --port N`) gives the clean figure. Cards, customers, emails and IPs are drawn from
pools so velocity sets grow as in real traffic. Needs Redis (--redis, default the local
one) and git (the old scorer is taken from LEGACY_REF).
Usage: .venv/bin/python -m bench.fraud [--requests N] [--concurrency C] [--redis URL]
                                       [--before REF]
(as a module: run as a file, this bench/fraud.py would shadow the fraud package)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.supervisor import free_ports

REPO = Path(__file__).resolve().parents[1]
# The last commit with the 3-rule scorer (fraud.counters, fraud.domain.rules).
LEGACY_REF = "7bd3471996e6858eb49ff6fcd1d14a176d2a42bd"
MARKETPLACE = "mkt_benchbenchbench"
RULES = [
    "block if :card_velocity_1h: > 20",
    "block if :card_velocity_24h: > 60 and :amount_usd: > 10000",
    "review if :card_velocity_1h: > 8",
    "block if :card_fingerprint: in @blocked_cards",
    "allow if :card_fingerprint: in @trusted_cards",
    "block if :email: in @blocked_emails",
    "block if :ip_address: in @blocked_ips",
    "block if :email_domain: in @bad_domains",
    "review if :card_country: != :ip_country:",
    "review if :billing_country: != :card_country: and :amount_usd: > 50000",
    "block if :distinct_cards_per_ip_7d: > 15",
    "review if :distinct_cards_per_customer_7d: > 4",
    "review if :distinct_cards_per_email_7d: > 4",
    "block if :customer_amount_24h: > 5000000",
    "review if :email_amount_1h: > 300000",
    "review if :ip_velocity_1h: > 30",
    "block if :card_blocks_24h: > 2",
    "review if :amount_usd: >= 1000000",
    "score +20 if :is_new_customer:",
    "score +15 if :card_funding: = 'prepaid'",
    "score +10 if :card_country: = 'BR' or :card_country: = 'NL'",
    "score +25 if :customer_velocity_1h: > 5",
    "score +30 if :amount_usd: > 200000 and :is_new_customer:",
    "score -10 if :customer_velocity_7d: > 20 and :card_blocks_24h: = 0",
    "score +10 if :device_id: = 'emulator'",
    "score +5 if :currency: != 'usd'",
    "score +15 if not :card_brand: = 'visa' and :amount_usd: > 100000",
    "score +10 if :ip_prefix: = '10.66.6.0/24'",
    "score +20 if :email_velocity_24h: > 10",
    "review if :card_bin: = '400000' and :livemode:",
]
assert len(RULES) == 30


def charge(i: int, rng: random.Random) -> dict[str, Any]:
    n = rng.randrange(2000)
    return {
        "charge_id": f"ch_bench{i:012d}{secrets.token_hex(4)}",
        "marketplace": MARKETPLACE,
        "amount": rng.choice([500, 1999, 4500, 12000, 99000]),
        "currency": rng.choice(["usd", "eur", "gbp"]),
        "card": {
            "id": f"card_bench{n:08d}",
            "brand": "visa",
            "bin": rng.choice(["424242", "495000", "400005"]),
            "last4": f"{n % 10000:04d}",
            "fingerprint": f"fp{n}",
        },
        "customer": f"cus_bench{n // 2:08d}",
        "email": f"shopper{n // 2}@example.test",
        "metadata": {"ip": f"10.{n % 200}.{n % 7}.{n % 250}", "ip_country": "US"},
    }


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def report(
    name: str,
    per_second: float,
    latencies: list[float],
    cpu: float,
    extra: str = "",
    redis_cpu: float | None = None,
) -> None:
    """One line: rate, latency, CPU ms per assessment (and so assessments per core-second),
    and the Redis server's CPU ms per assessment when it was read."""
    p50, p99 = percentiles(latencies)
    server = "" if redis_cpu is None else f"  redis-server {redis_cpu * 1000:5.3f} ms"
    print(
        f"  {name:<28} {per_second:>7,.0f}/s  p50 {p50:6.3f} ms  p99 {p99:7.3f} ms"
        f"  CPU {cpu * 1000:5.3f} ms/assessment = {1 / cpu:>6,.0f}/core-s{server}  {extra}"
    )


def redis_server_cpu(url: str) -> Callable[[], float] | None:
    """The Redis server's CPU seconds so far, from /proc by INFO's process_id; None when it
    runs elsewhere (or the URL is `memory`)."""
    if url == "memory":
        return None
    pid = int(redis.Redis.from_url(url).info("server")["process_id"])
    comm = Path(f"/proc/{pid}/comm")
    if not comm.exists() or not comm.read_text().startswith("redis"):
        return None
    return lambda: cpu_of(pid)


def engine_in_process(
    work: Path, redis_url: str, prefix: str, n: int, name: str, label: str = "engine"
) -> None:
    from fraud.app import build_services
    from fraud.config import Settings
    from fraud.contracts import AssessmentRequest
    from fraud.metrics import Metrics
    from fraud.store import lists, rules

    key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    settings = Settings(
        test_credential="t",
        live_credential="l",
        signing_key=key,
        data_dir=work / name,
        counters_url=redis_url,
        counters_prefix=prefix + "engine:",
    )
    ctx, engine = build_services(settings, Metrics())
    scope = f"live:{MARKETPLACE}"
    with ctx.sessions.begin() as session:
        lists.create_list(session, scope, "bad_domains", "Bad domains", "email_domain", "bench")
    with ctx.sessions.begin() as session:
        for predicate in RULES:
            rules.create_rule(session, scope, predicate, None, "bench")
    rng = random.Random(1)  # noqa: S311 (reproducible traffic, not secrets)
    bodies = [AssessmentRequest.model_validate(charge(i, rng)) for i in range(n)]
    latencies = []
    server = redis_server_cpu(redis_url)
    server_before = server() if server else 0.0
    cpu, began = time.process_time(), time.perf_counter()
    for body in bodies:
        start = time.perf_counter()
        ctx.assessor.assess(body, True)
        latencies.append(time.perf_counter() - start)
    elapsed = time.perf_counter() - began
    ctx.assessor.decisions.flush()  # the writer's CPU is the assessments' too
    used = time.process_time() - cpu
    server_used = (server() - server_before) / n if server else None
    ctx.assessor.decisions.close()
    engine.dispose()
    where = "redis" if redis_url != "memory" else "memory"
    report(f"{label}  in-process/{where}", n / elapsed, latencies, used / n, "", server_used)


LEGACY_LOOP = textwrap.dedent(
    """
    import random, sys, time, statistics, redis
    sys.path.insert(0, sys.argv[1])
    from fraud.counters import RedisCounters
    from fraud.domain.rules import Facts, assess
    counters = RedisCounters(redis.Redis.from_url(sys.argv[2]), sys.argv[3])
    n, rng, latencies = int(sys.argv[4]), random.Random(1), []
    cpu, began = time.process_time(), time.perf_counter()
    for i in range(n):
        start = time.perf_counter()
        card = rng.randrange(2000)
        count = counters.hit(f"live:mkt:fp{card}", 60)
        assess(Facts(True, "424242", f"{card % 10000:04d}", 1999, count))
        latencies.append(time.perf_counter() - start)
    elapsed, used = time.perf_counter() - began, time.process_time() - cpu
    print(n / elapsed, used / n, " ".join(map(str, latencies)))
    """
)


def legacy_in_process(legacy: Path, redis_url: str, prefix: str, n: int) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LEGACY_LOOP, str(legacy), redis_url, prefix + "legacy:", str(n)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(legacy)},
    ).stdout.split()
    report("3-rule  in-process", float(out[0]), [float(x) for x in out[2:]], float(out[1]))


BEFORE_IN_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bench.fraud import engine_in_process
    engine_in_process(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), "before",
                      "before")
    """
)


def before_in_process(tree: Path, work: Path, redis_url: str, prefix: str, n: int) -> None:
    """This bench's in-process loop over the fraud package of another git ref."""
    subprocess.run(
        [sys.executable, "-c", BEFORE_IN_PROCESS, str(work), redis_url, prefix, str(n)],
        check=True,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": f"{tree}:{REPO}"},
    )


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(pythonpath: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`python -m fraud` from the first entry of `pythonpath` (its cwd, which -m puts first)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fraud"],
        cwd=pythonpath.split(":")[0],
        env={**os.environ, **env, "PYTHONPATH": pythonpath, "FRAUD_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"fraud on :{port} did not start")
        time.sleep(0.1)


async def over_http(
    name: str,
    port: int,
    pid: int,
    n: int,
    c: int,
    make: Callable[..., Any],
    server: Callable[[], float] | None = None,
) -> None:
    url = f"http://127.0.0.1:{port}/v1/assessments"
    headers = {"authorization": "Bearer l"}
    rng = random.Random(2)  # noqa: S311
    latencies = []
    with httpx.Client(headers=headers) as client:
        cpu = cpu_of(pid)
        for i in range(n):
            body = make(i, rng)
            start = time.perf_counter()
            response = client.post(url, json=body)
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
        one_at_a_time = (cpu_of(pid) - cpu) / n
    bodies = [make(n + i, rng) for i in range(n)]
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(headers=headers, limits=limits) as pool:
        server_before = server() if server else 0.0
        cpu, began = cpu_of(pid), time.perf_counter()

        async def worker(share: list[dict[str, Any]]) -> None:
            for body in share:
                assert (await pool.post(url, json=body)).status_code == 200

        await asyncio.gather(*(worker(bodies[k::c]) for k in range(c)))
        elapsed, used = time.perf_counter() - began, cpu_of(pid) - cpu
        server_used = (server() - server_before) / n if server else None
    per_core = n / used if used else float("nan")
    report(
        name,
        n / elapsed,
        latencies,
        one_at_a_time,
        f"({c} in flight: {per_core:,.0f}/core-s = {1000 / per_core:5.3f} ms)",
        server_used,
    )


def extract(ref: str, into: Path) -> Path:
    """The fraud and strongroom packages as they were at git `ref`."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "fraud", "strongroom"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    if not __package__:
        raise SystemExit("run it as a module: .venv/bin/python -m bench.fraud")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--before", metavar="REF", help="also run the engine of this git ref")
    args = parser.parse_args()
    prefix = f"bench-fraud-{secrets.token_hex(4)}:"
    client = redis.Redis.from_url(args.redis)
    key = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    n, c = args.requests, args.concurrency
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        legacy = extract(LEGACY_REF, work / "legacy")
        before = extract(args.before, work / "before-tree") if args.before else None
        print(f"{n} assessments each; velocity in Redis at {args.redis}; {os.cpu_count()} CPUs,")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")
        servers: list[subprocess.Popen[bytes]] = []
        try:
            engine_in_process(work, "memory", prefix, n, "engine-memory")
            engine_in_process(work, args.redis, prefix, n, "engine")
            if before is not None:
                before_in_process(before, work, args.redis, prefix + "before:", n)
            legacy_in_process(legacy, args.redis, prefix, n)
            env = {
                "FRAUD_TEST_CREDENTIAL": "t",
                "FRAUD_LIVE_CREDENTIAL": "l",
                "FRAUD_SIGNING_KEY": key,
                "FRAUD_COUNTERS_URL": args.redis,
                "FRAUD_LOG_LEVEL": "WARNING",
            }

            def old_charge(i: int, rng: random.Random) -> dict[str, Any]:
                body = charge(i, rng)
                for extra in ("customer", "email", "metadata"):
                    del body[extra]
                return body

            runs: list[tuple[str, str, dict[str, str], Callable[..., Any]]] = [
                # the 30 rules made in-process, in their data dirs
                ("engine  http", str(REPO), {"FRAUD_DATA_DIR": str(work / "engine")}, charge),
            ]
            if before is not None:
                runs.append(
                    ("before  http", str(before), {"FRAUD_DATA_DIR": str(work / "before")}, charge)
                )
            runs.append(("3-rule  http", str(legacy), {}, old_charge))
            for name, tree, extra, make in runs:
                port = free_ports(1)[0]
                label = name.split()[0]
                server_env = {**env, **extra, "FRAUD_COUNTERS_PREFIX": f"{prefix}{label}-http:"}
                server = serve(f"{tree}:{REPO}", server_env, port)
                servers.append(server)
                asyncio.run(
                    over_http(name, port, server.pid, n, c, make, redis_server_cpu(args.redis))
                )
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait(10)
            for name in client.scan_iter(match=prefix + "*"):
                client.delete(name)


if __name__ == "__main__":
    main()
