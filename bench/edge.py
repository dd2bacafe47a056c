"""The edge's cost, measured: throughput and latency through it beside a direct baseline.

In one run and one process tree (every server is a child of this process, on loopback):

  direct        the load generator straight to a trivial upstream (an echo server)
  edge          through `python -m edge_proxy`, filter on (the router's chain), with
                EDGE_WORKERS=--edge-workers (default: one per core, as in production)
  edge-1worker  the same with one worker process (shown when --edge-workers is not 1)
  edge-nofilter through one edge process with an empty filter chain (--serve-edge)
  mitmproxy     through `mitmdump --mode reverse:…` (mitmproxy 11, from .venv-mitmproxy)

each for a 1 KB and a 64 KB PAN-free JSON body (POSTed, echoed back, so the edge scans
both ways), with the same concurrency and duration, in --rounds interleaved rounds;
it prints the medians of requests/s, p50, p99 and the ratios against direct (and edge
against mitmproxy), the CPU time the server under test spent per request (from /proc: a
figure that holds on a busy machine, where requests/s measure the scheduler as much as
the proxy), then the detector's speed on PAN-free JSON in MB/s (CPU time, fast path and
exact path).

The upstream is a raw asyncio echo server by default (`--upstream asyncio`: the fastest
trivial upstream, so "direct" is as high as it gets); `--upstream uvicorn` serves the echo
with uvicorn and h11, as the stack's own services are served.

The load generator is `wrk` (Debian's package; `make bench-edge` installs it) when it is
on the PATH: written in C, it spends about half the CPU per request of the asyncio client
in this process that is used without it (or with `--client python`); on a 2-core machine
what the load generator spends is taken from the servers under test. The "client
CPU/req" column shows it.

Usage: .venv/bin/python bench/edge.py [--seconds S] [--concurrency C] [--upstream KIND]
                                      [--edge-workers N] [--rounds N] [--client KIND]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.supervisor import free_ports, stop_processes, wait_listening

ROOT = Path(__file__).resolve().parent.parent
MITMDUMP = ROOT / ".venv-mitmproxy" / "bin" / "mitmdump"
HOST = "api.localhost"
WARM_UP_SECONDS = 1.0


# -- bodies ------------------------------------------------------------------------------


def _id(chooser: random.Random, prefix: str) -> str:
    return prefix + "".join(chooser.choice(string.ascii_letters + string.digits) for _ in range(24))


def charge(chooser: random.Random, i: int) -> dict[str, object]:
    """A charge as the API writes one: ids, amounts, timestamps, text; no card number."""
    return {
        "id": _id(chooser, "ch_"),
        "object": "charge",
        "amount": chooser.randint(100, 99_999),
        "currency": chooser.choice(["usd", "eur", "gbp"]),
        "card": _id(chooser, "card_"),
        "customer": _id(chooser, "cus_"),
        "created": 1_700_000_000 + i * 37,
        "description": f"Order #{10_000 + i}: two tickets, row {i % 30}, seats 14 and 15",
        "metadata": {"order_id": f"A-{1000 + i}", "channel": "web", "sku": f"BK-{i:05d}"},
        "status": "succeeded",
        "livemode": False,
        "fraud": {"score": chooser.randint(0, 30), "decision": "allow", "reasons": []},
        "last4": "4242",
    }


@dataclass(frozen=True)
class Body:
    """One body of the benchmark: its name in the table, Content-Type and bytes."""

    name: str
    content_type: bytes
    data: bytes


JSON = b"application/json"
FORM = b"application/x-www-form-urlencoded"


def charge_request(size: int) -> dict[str, object]:
    """A charge as a merchant's server POSTs one (Stripe's Charges API), padded to `size`
    bytes of JSON: amount, currency, a card token, a description and metadata."""
    chooser = random.Random(size)  # noqa: S311 - test data, not secrets
    doc: dict[str, object] = {
        "amount": 2599,
        "currency": "usd",
        "source": _id(chooser, "card_"),
        "customer": _id(chooser, "cus_"),
        "capture": True,
        "description": "Order #10452: two tickets, row 12, seats 14 and 15",
        "statement_descriptor": "STRONGROOM TIX",
        "receipt_email": "jane.doe@example.com",
        "metadata": {
            "order_id": "A-10452",
            "cart_id": _id(chooser, "cart_"),
            "channel": "web",
            "shipping_zip": "94107",
            "phone": "+1 415 555 0134",
            "note": "",
        },
    }
    pad = size - len(json.dumps(doc))
    doc["metadata"]["note"] = "x" * pad  # type: ignore[index]
    return doc


def charge_json(size: int) -> bytes:
    """`charge_request` as JSON, exactly `size` bytes."""
    body = json.dumps(charge_request(size)).encode()
    assert len(body) == size, len(body)
    return body


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _flatten(f"{prefix}[{k}]" if prefix else k, v)]
    return [(prefix, str(value).lower() if isinstance(value, bool) else str(value))]


def charge_form(size: int) -> bytes:
    """`charge_request` form-encoded (Stripe's bracket syntax), exactly `size` bytes."""
    from urllib.parse import urlencode

    doc = charge_request(size)
    body = urlencode(_flatten("", doc)).encode()
    doc["metadata"]["note"] = "x" * (len(doc["metadata"]["note"]) + size - len(body))  # type: ignore[index]
    body = urlencode(_flatten("", doc)).encode()
    assert len(body) == size, len(body)
    return body


def stripe_form(size: int) -> bytes:
    """A PaymentIntent as Stripe's SDKs POST one, exactly `size` bytes: nested objects and
    lists in bracket keys (``shipping[address][line1]``, ``expand[0]``), escaped as
    ``%5B``/``%5D`` by urlencode, spaces as ``+``, ``@``, ``#`` and ``,`` escaped too."""
    from urllib.parse import urlencode

    chooser = random.Random(size)  # noqa: S311 - test data, not secrets
    pairs = [
        ("amount", "2599"),
        ("currency", "usd"),
        ("customer", _id(chooser, "cus_")),
        ("payment_method", _id(chooser, "pm_")),
        ("payment_method_types[0]", "card"),
        ("confirm", "true"),
        ("capture_method", "automatic"),
        ("description", "Order #10452: two tickets, row 12, seats 14 and 15"),
        ("receipt_email", "jane.doe@example.com"),
        ("shipping[name]", "Jane Doe"),
        ("shipping[address][line1]", "510 Townsend St"),
        ("shipping[address][city]", "San Francisco"),
        ("shipping[address][postal_code]", "94103"),
        ("shipping[address][country]", "US"),
        ("metadata[order_id]", "A-10452"),
        ("metadata[cart_id]", _id(chooser, "cart_")),
        ("expand[0]", "latest_charge"),
        ("expand[1]", "customer"),
        ("metadata[note]", ""),
    ]
    body = urlencode(pairs).encode()
    pairs[-1] = ("metadata[note]", "x" * (size - len(body)))
    body = urlencode(pairs).encode()
    assert len(body) == size, len(body)
    return body


def digits_json(size: int) -> bytes:
    """A PAN-free JSON document of exactly `size` bytes, about a third of it digits: a
    report of line items (amounts, fees, quantities, epoch timestamps, zip codes, phone
    numbers, order and SKU numbers), every number shorter than a card number."""
    chooser = random.Random(size)  # noqa: S311 - test data, not secrets
    items: list[object] = []
    doc: dict[str, object] = {"object": "report", "items": items, "note": ""}
    while len(json.dumps(doc)) < size - 300:
        i = len(items)
        items.append(
            {
                "order": 100_000 + i,
                "amount": chooser.randint(100, 99_999),
                "fee": chooser.randint(30, 3_000),
                "qty": chooser.randint(1, 12),
                "created": 1_700_000_000 + i * 37,
                "zip": f"{chooser.randint(10_000, 99_999)}",
                "phone": f"+1 {chooser.randint(200, 999)} 555 {chooser.randint(0, 9999):04d}",
                "sku": f"BK-{chooser.randint(0, 99_999):05d}",
            }
        )
    doc["note"] = "x" * (size - len(json.dumps(doc)))
    body = json.dumps(doc).encode()
    assert len(body) == size, len(body)
    return body


def json_body(size: int) -> bytes:
    """A PAN-free JSON document of exactly `size` bytes: a list of charges, padded."""
    chooser = random.Random(size)  # noqa: S311 - test data, not secrets
    doc: dict[str, object] = {"object": "list", "data": [], "note": ""}
    data: list[object] = []
    doc["data"] = data
    while len(json.dumps(doc)) < size - 400:
        data.append(charge(chooser, len(data)))
    text = json.dumps(doc)
    doc["note"] = "x" * (size - len(text))
    body = json.dumps(doc).encode()
    assert len(body) == size, len(body)
    return body


# -- servers -----------------------------------------------------------------------------


class Echo(asyncio.Protocol):
    """The trivial upstream: answers every request with its own body, keep-alive."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at) % (len(head) + 1)]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            at = head.find(b"content-type:")
            ctype = (
                head[at + 13 : head.find(b"\r\n", at) % (len(head) + 1)].strip()
                if at >= 0
                else JSON
            )
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
                % (ctype, len(body))
                + body
            )


async def _serve_forever(factory: Callable[[], asyncio.Protocol], port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def serve_upstream(port: int, kind: str) -> None:
    if kind == "asyncio":
        asyncio.run(_serve_forever(Echo, port))
        return
    import uvicorn

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        body = b""
        while True:
            message = await receive()  # type: ignore[operator]
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        ctype = dict(scope["headers"]).get(b"content-type", JSON)  # type: ignore[call-overload]
        headers = [
            (b"content-type", ctype),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]

    uvicorn.run(app, host="127.0.0.1", port=port, http="h11", log_level="warning", access_log=False)


def serve_edge_without_filters(port: int, upstream: int) -> None:
    """The edge exactly as `python -m edge_proxy` runs it, but with empty filter chains."""
    import uvloop

    from edge_proxy.__main__ import configure_logging
    from edge_proxy.app import EdgeServer
    from edge_proxy.config import Settings

    settings = Settings(port=port, router_url=f"http://127.0.0.1:{upstream}")
    # The access log costs the same in both edges.
    handler = configure_logging(settings.log_level)

    async def run() -> None:
        async with EdgeServer(settings, access_sink=handler.write_line) as server:
            for destination in list(server.edge.chains):
                server.edge.replace_chain(destination, [])
            await asyncio.Event().wait()

    uvloop.run(run())


# -- the load generator -------------------------------------------------------------------


@dataclass
class Result:
    name: str
    body: str
    rps: float
    p50: float
    p99: float
    cpu_us: float  # CPU time of the server under test (the proxy; direct: the upstream)
    client_us: float  # CPU time of the load generator


def median(runs: list[Result]) -> Result:
    """Each figure's median over the rounds (a busy machine's noise, damped)."""
    return Result(
        runs[0].name,
        runs[0].body,
        statistics.median(r.rps for r in runs),
        statistics.median(r.p50 for r in runs),
        statistics.median(r.p99 for r in runs),
        statistics.median(r.cpu_us for r in runs),
        statistics.median(r.client_us for r in runs),
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU time so far of a process, its threads and its live children
    (an edge's workers) (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


async def _worker(port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15 : head.index(b"\r\n", at)]) if at >= 0 else 0
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"port {port}: {head[:200]!r} {body[:200]!r}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _python_load(
    port: int, body: Body, seconds: float, concurrency: int
) -> tuple[float, list[float]]:
    request = (
        b"POST /v1/echo HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"
        b"Content-Length: %d\r\n\r\n" % (HOST.encode(), body.content_type, len(body.data))
    ) + body.data
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *[_worker(port, request, started + seconds, latencies) for _ in range(concurrency)]
    )
    return time.perf_counter() - started, latencies


@dataclass
class Load:
    """What one run of the load generator saw."""

    requests: int
    seconds: float
    p50: float  # milliseconds
    p99: float
    cpu: float  # seconds of CPU the load generator spent


def python_load(port: int, body: Body, seconds: float, concurrency: int) -> Load:
    cpu = time.process_time()
    elapsed, latencies = asyncio.run(_python_load(port, body, seconds, concurrency))
    cpu = time.process_time() - cpu
    latencies.sort()
    return Load(
        len(latencies),
        elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        cpu,
    )


# wrk's script: POST the body in BENCH_BODY to every connection; at the end, one line of
# JSON with the counts and the latency percentiles (microseconds).
WRK_SCRIPT = r"""
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE")
wrk.headers["Host"] = os.getenv("BENCH_HOST")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %.0f, "duration_us": %.0f, "p50_us": %.0f, "p99_us": %.0f, '
    .. '"status_errors": %.0f, "socket_errors": %.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_load(port: int, body: Body, seconds: float, concurrency: int) -> Load:
    """One wrk run (one thread: the generator takes at most one core, as the Python one)."""
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        script, payload = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        script.write_text(WRK_SCRIPT)
        payload.write_bytes(body.data)
        argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", str(script)]
        waited = _children_cpu()
        ran = subprocess.run(
            [*argv, f"http://127.0.0.1:{port}/v1/echo"],
            env={
                **os.environ,
                "BENCH_BODY": str(payload),
                "BENCH_HOST": HOST,
                "BENCH_TYPE": body.content_type.decode(),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        cpu = _children_cpu() - waited
    lines = [line for line in ran.stdout.splitlines() if line.startswith("BENCH ")]
    if ran.returncode != 0 or not lines:
        raise SystemExit(f"wrk failed on port {port}: {ran.stdout[-500:]}{ran.stderr[-500:]}")
    seen = json.loads(lines[-1].removeprefix("BENCH "))
    if seen["status_errors"] or seen["socket_errors"]:
        raise SystemExit(
            f"port {port}: wrk saw errors (answers of 400 or more, or socket errors): {seen}"
        )
    return Load(
        int(seen["requests"]),
        seen["duration_us"] / 1e6,
        seen["p50_us"] / 1e3,
        seen["p99_us"] / 1e3,
        cpu,
    )


def _children_cpu() -> float:
    """CPU seconds of this process's children that have been waited for (wrk's runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    name: str,
    port: int,
    pid: int,
    body: Body,
    load: Callable[[int, Body, float, int], Load],
    seconds: float,
    concurrency: int,
) -> Result:
    load(port, body, WARM_UP_SECONDS, concurrency)  # connections opened, caches warm
    before = cpu_seconds(pid)
    seen = load(port, body, seconds, concurrency)
    cpu = (cpu_seconds(pid) - before) / seen.requests * 1e6
    rps = seen.requests / seen.seconds
    return Result(name, body.name, rps, seen.p50, seen.p99, cpu, seen.cpu / seen.requests * 1e6)


# -- processes ------------------------------------------------------------------------------


@contextmanager
def started(commands: list[tuple[list[str], dict[str, str], int]]) -> Iterator[dict[int, int]]:
    """Start each server and wait until it listens; yields their pids by port."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for argv, env, port in commands:
            process = subprocess.Popen(
                argv,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            processes.append(process)
            wait_listening(port, process)
        yield {port: process.pid for (_, _, port), process in zip(commands, processes, strict=True)}
    finally:
        stop_processes(processes)


# -- the detector -----------------------------------------------------------------------------


def detector_speed(body: Body, fast: bool) -> float:
    """MB/s of CPU time for the edge's two readings of `body` (which must be PAN-free): as
    the API reads a request (`app_body`) and as a response (`body`)."""
    from edge_proxy.detect import PanDetector

    detector = PanDetector(fast=fast)
    data, ctype = body.data, body.content_type.decode()
    assert detector.app_body(data, ctype) is None and detector.body(data, ctype) is None
    rounds = max(3, (4 << 20 if fast else 1 << 19) // len(data))
    started = time.process_time()
    for _ in range(rounds):
        detector.app_body(data, ctype)
        detector.body(data, ctype)
    return 2 * len(data) * rounds / (time.process_time() - started) / 1e6


def precision(count: int) -> None:
    """Print the share of each benign kind the detector refuses, by place (issue 15)."""
    sys.path.insert(0, str(ROOT))
    from edge_proxy.detect import PanDetector
    from tests.edge_proxy.benign import PLACES, refusal_rates

    started = time.process_time()
    rates = refusal_rates(PanDetector(), count)
    print(f"Benign identifiers refused, {count} of each kind per place (aim: at most 0.1 %)")
    print()
    print("| kind | " + " | ".join(PLACES) + " |")
    print("|---|" + "---|" * len(PLACES))
    for kind, by_place in rates.items():
        cells = " | ".join(f"{by_place[p] * 100:.2f} %" for p in PLACES)
        print(f"| {kind} | {cells} |")
    seconds = time.process_time() - started
    print()
    print(f"({len(rates) * len(PLACES) * count} inspections, {seconds:.1f} s of CPU)")


# -- health probes under attack -----------------------------------------------------------


def _attack(port: int, seconds: float, answers: Any) -> None:
    """In a process of its own (its threads would hold the prober's interpreter lock):
    every attack of `tests/edge_proxy/test_stalls.py` sent again and again."""
    import threading

    from tests.edge_proxy.test_stalls import attacks, exchange

    until = time.monotonic() + seconds
    seen: list[str] = []

    def attacker(raw: bytes) -> None:
        while time.monotonic() < until:
            line = exchange(port, raw)
            seen.append(line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "closed")

    threads = [threading.Thread(target=attacker, args=(raw,)) for raw in attacks()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.put(seen)  # once: a process with items still queued cannot be joined


def _probes(port: int, seconds: float) -> list[float]:
    from tests.edge_proxy.test_stalls import probe

    times = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        times.append(probe(port) * 1000)
        time.sleep(0.02)
    return sorted(times)


def _percentiles(times: list[float]) -> str:
    def at(share: float) -> float:
        return times[min(len(times) - 1, int(len(times) * share))]

    return f"{len(times):>7}{at(0.5):>9.1f}{at(0.9):>9.1f}{at(0.99):>9.1f}{times[-1]:>9.1f}"


def under_attack(seconds: float) -> None:
    """Print the latency of GET /healthz, idle and while compressed, nested-gzip,
    chunked, costly and oversized bodies arrive (issue 15: within 50 ms)."""
    import multiprocessing

    sys.path.insert(0, str(ROOT))
    port, nowhere = free_ports(2)
    env = {
        "EDGE_PORT": str(port),
        "EDGE_ROUTER_URL": f"http://127.0.0.1:{nowhere}",  # attacks never get that far
        "EDGE_MAX_INSPECT_SECONDS": "1",
        "EDGE_LOG_LEVEL": "ERROR",
    }
    with started([([sys.executable, "-m", "edge_proxy"], env, port)]):
        idle = _probes(port, min(seconds, 5.0))
        context = multiprocessing.get_context("spawn")
        answers = context.Queue()
        attacker = context.Process(target=_attack, args=(port, seconds + 2.0, answers))
        attacker.start()
        time.sleep(1.0)  # the attacks are under way
        attacked = _probes(port, seconds)
        seen = answers.get()
        attacker.join()
    statuses: dict[str, int] = {}
    for status in seen:
        statuses[status] = statuses.get(status, 0) + 1
    load = os.getloadavg()[0]
    print(f"GET /healthz through one edge process, ms ({os.cpu_count()} cores, load {load:.1f})")
    print(f"{'':<14}{'probes':>7}{'p50':>9}{'p90':>9}{'p99':>9}{'max':>9}")
    print(f"{'idle':<14}{_percentiles(idle)}")
    print(f"{'under attack':<14}{_percentiles(attacked)}")
    print("attacks answered: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))


# -- main ---------------------------------------------------------------------------------


def hide_scan_extension() -> dict[str, str]:
    """Environment under which no process imports the C scanner: a sitecustomize module,
    first on PYTHONPATH, marks it missing (an edge's workers and scanning processes
    inherit the environment). This process hides it from itself too."""
    sys.modules["edge_proxy.detect._scan"] = None  # type: ignore[assignment]
    where = Path(tempfile.mkdtemp(prefix="bench-edge-python-scan-"))
    (where / "sitecustomize.py").write_text(
        "import sys\nsys.modules['edge_proxy.detect._scan'] = None\n"
    )
    path = os.pathsep.join(p for p in (str(where), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="per scenario, body and round (after 1 s warm)"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator (auto: wrk if on the PATH)",
    )
    parser.add_argument("--upstream", choices=["asyncio", "uvicorn"], default="asyncio")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of every scenario, interleaved; medians shown"
    )
    parser.add_argument(
        "--edge-workers", type=int, default=os.cpu_count() or 1, help="EDGE_WORKERS of 'edge'"
    )
    parser.add_argument(
        "--precision",
        type=int,
        nargs="?",
        const=2000,
        metavar="COUNT",
        help="print the false-positive rate of the benign corpus per kind and place "
        "(COUNT of each, 2000 by default) and exit",
    )
    parser.add_argument(
        "--under-attack",
        type=float,
        nargs="?",
        const=20.0,
        metavar="SECONDS",
        help="print health-probe latency (p50/p90/p99) idle and while costly bodies arrive "
        "(SECONDS of attack, 20 by default) and exit",
    )
    parser.add_argument(
        "--scanner",
        choices=["c", "python"],
        default="c",
        help="the fast path's byte loops: the C extension (as built by `make install`) or "
        "their pure-Python reference (the extension hidden from every edge process)",
    )
    parser.add_argument("--no-mitmproxy", action="store_true", help="leave mitmproxy out")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-edge", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.precision:
        precision(args.precision)
        return
    if args.under_attack:
        under_attack(args.under_attack)
        return
    if args.serve_upstream:
        serve_upstream(args.serve_upstream, args.upstream)
        return
    if args.serve_edge:
        serve_edge_without_filters(*args.serve_edge)
        return
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
        if client == "python":
            print(
                "(wrk not found: `make bench-edge` installs it; the Python load generator is used)"
            )
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not on the PATH: `make bench-edge` installs it")
    load = wrk_load if client == "wrk" else python_load
    # Stopped from outside (a profiler run, say): the servers are stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    upstream, edge, single, bare, mitm = free_ports(5)
    python = sys.executable
    scanner_env = {} if args.scanner == "c" else hide_scan_extension()

    def edge_env(port: int, workers: int) -> dict[str, str]:
        return {
            "EDGE_PORT": str(port),
            "EDGE_WORKERS": str(workers),
            "EDGE_ROUTER_URL": f"http://127.0.0.1:{upstream}",
            "EDGE_LOG_LEVEL": "INFO",  # the access log is written, as in production
            **scanner_env,
        }

    commands: list[tuple[list[str], dict[str, str], int]] = [
        (
            [python, __file__, "--upstream", args.upstream, "--serve-upstream", str(upstream)],
            {},
            upstream,
        ),
        ([python, "-m", "edge_proxy"], edge_env(edge, args.edge_workers), edge),
        ([python, __file__, "--serve-edge", str(bare), str(upstream)], {}, bare),
    ]
    scenarios = [("direct", upstream), ("edge", edge)]
    if args.edge_workers != 1:
        commands.append(([python, "-m", "edge_proxy"], edge_env(single, 1), single))
        scenarios.append(("edge-1worker", single))
    scenarios.append(("edge-nofilter", bare))
    if args.no_mitmproxy:
        pass
    elif MITMDUMP.exists():
        mode = f"reverse:http://127.0.0.1:{upstream}@127.0.0.1:{mitm}"
        commands.append(([str(MITMDUMP), "--mode", mode, "-q"], {}, mitm))
        scenarios.append(("mitmproxy", mitm))
    else:
        print(f"(no {MITMDUMP.relative_to(ROOT)}: run `make install`; mitmproxy skipped)")

    rounds: dict[tuple[str, str], list[Result]] = {}
    bodies = [
        Body("charge-json-1K", JSON, charge_json(1024)),
        Body("charge-form-1K", FORM, charge_form(1024)),
        Body("stripe-form-1K", FORM, stripe_form(1024)),
        Body("list-json-1K", JSON, json_body(1024)),
        Body("list-json-64K", JSON, json_body(64 * 1024)),
        Body("digits-json-64K", JSON, digits_json(64 * 1024)),
    ]
    with started(commands) as pids:
        for _ in range(args.rounds):
            for body in bodies:
                for name, port in scenarios:
                    rounds.setdefault((name, body.name), []).append(
                        measure(name, port, pids[port], body, load, args.seconds, args.concurrency)
                    )
    results = {key: median(runs) for key, runs in rounds.items()}

    print(
        f"\nedge benchmark: load generator {client}, {args.concurrency} connections, "
        f"{args.seconds:g} s per run, upstream {args.upstream}, "
        f"loopback, {os.cpu_count()} cores, 'edge' with {args.edge_workers} worker(s), "
        f"fast path's loops in {'C' if args.scanner == 'c' else 'Python'}, "
        f"medians of {args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'scenario':<14}{'body':>16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs direct':>11}"
        f"{'server CPU/req':>16}{'client CPU/req':>16}"
    )
    for (name, body_name), result in results.items():
        ratio = result.rps / results[("direct", body_name)].rps
        print(
            f"{name:<14}{body_name:>16}{result.rps:>10.0f}{result.p50:>9.2f}"
            f"{result.p99:>9.2f}{ratio:>10.2f}x{result.cpu_us:>13.0f} us"
            f"{result.client_us:>13.0f} us"
        )
    for body in bodies:
        for name in ("edge", "edge-1worker"):
            if ("mitmproxy", body.name) not in results or (name, body.name) not in results:
                continue
            ours, theirs = results[(name, body.name)], results[("mitmproxy", body.name)]
            print(
                f"{name} (filter on) vs mitmproxy, {body.name}: "
                f"{ours.rps / theirs.rps:.1f}x the requests/s, "
                f"{theirs.cpu_us / ours.cpu_us:.1f}x less CPU per request"
            )
    print("\ndetector on PAN-free bodies (CPU time), request and response readings:")
    for body in bodies:
        fast, exact = detector_speed(body, True), detector_speed(body, False)
        print(f"  {body.name:>16}: fast path {fast:7.1f} MB/s   exact path {exact:6.1f} MB/s")


if __name__ == "__main__":
    main()
