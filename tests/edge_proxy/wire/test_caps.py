"""The edge's caps per worker: open client connections (`EDGE_MAX_CONNECTIONS`),
request-body bytes buffered at once across connections (`EDGE_MAX_BUFFERED_BYTES`) and
the share of them one client address may hold (`EDGE_MAX_CLIENT_BUFFERED_SHARE`).

The edge runs as its own process (`python -m edge_proxy`) so that its memory can be read
from /proc; the clients write raw HTTP/1.1.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.servers import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[3]
HEALTH = b"GET /healthz HTTP/1.1\r\nhost: api.localhost\r\n\r\n"
MiB = 1 << 20


@contextlib.contextmanager
def edge_process(tmp_path: Path, **env: str) -> Iterator[tuple[int, int, int]]:
    """An edge process: (port, metrics port, pid)."""
    port, metrics = free_port(), free_port()
    environ = {
        **os.environ,
        "EDGE_PORT": str(port),
        "EDGE_METRICS_PORT": str(metrics),
        # Nothing listens there: no request here is meant to reach an upstream.
        "EDGE_ROUTER_URL": f"http://127.0.0.1:{free_port()}",
        "EDGE_LOG_LEVEL": "ERROR",
        **env,
    }
    with (tmp_path / "edge.log").open("ab") as log:
        edge = subprocess.Popen(
            [sys.executable, "-m", "edge_proxy"], env=environ, cwd=ROOT, stderr=log
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        yield port, metrics, edge.pid
    finally:
        edge.send_signal(signal.SIGTERM)
        edge.wait(20)


def connect(port: int, client: str = "127.0.0.1") -> socket.socket:
    """A connection from `client`, an address of the loopback network."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(client, 0))


def status_of(sock: socket.socket) -> bytes:
    """The status line of the next answer on `sock`, b"" if it closed without one."""
    try:
        return sock.recv(65536).split(b"\r\n", 1)[0]
    except OSError:
        return b""


def answer(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def upload_head(length: int) -> bytes:
    return (
        f"POST /v1/charges HTTP/1.1\r\nhost: api.localhost\r\n"
        f"content-type: application/octet-stream\r\ncontent-length: {length}\r\n\r\n"
    ).encode()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def busy_refusals(metrics: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
    for line in text.splitlines():
        if line.startswith("edge_blocks_total{") and 'reason="edge_busy"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_connections_over_the_cap_are_refused_while_health_answers(tmp_path: Path) -> None:
    # One client may hold them all: the cap alone (tests/attack/test_slow_clients.py holds
    # the share by address, EDGE_MAX_CLIENT_CONNECTION_SHARE).
    env = {"EDGE_MAX_CONNECTIONS": "20", "EDGE_MAX_CLIENT_CONNECTION_SHARE": "1"}
    with edge_process(tmp_path, **env) as (port, _metrics, _pid):
        probe = connect(port)
        probe.sendall(HEALTH)
        assert status_of(probe) == b"HTTP/1.1 200 OK"
        held = [connect(port) for _ in range(19)]
        time.sleep(0.3)
        extra = [connect(port) for _ in range(10)]
        for sock in extra:
            reply = answer(sock)
            assert reply.startswith(b"HTTP/1.1 503 "), reply[:100]
            assert b"retry-after: 1" in reply.lower() and b"connection: close" in reply.lower()
        # The connections within the cap still work, the probe among them.
        probe.sendall(HEALTH)
        assert status_of(probe) == b"HTTP/1.1 200 OK"
        held[0].sendall(HEALTH)
        assert status_of(held[0]) == b"HTTP/1.1 200 OK"
        # One closed frees its place for a new one.
        held.pop().close()
        time.sleep(0.3)
        fresh = connect(port)
        fresh.sendall(HEALTH)
        assert status_of(fresh) == b"HTTP/1.1 200 OK"
        for sock in [probe, fresh, *held, *extra]:
            sock.close()


def test_bodies_over_the_buffer_cap_are_503_while_a_small_request_passes(
    tmp_path: Path,
) -> None:
    env = {
        "EDGE_MAX_BUFFERED_BYTES": str(4 * MiB),
        "EDGE_MAX_BODY_BYTES": str(MiB),
        "EDGE_MAX_CLIENT_BUFFERED_SHARE": "1",  # one client may fill it all: the cap alone
    }
    with edge_process(tmp_path, **env) as (port, metrics, _pid):
        before = busy_refusals(metrics)
        uploads = [connect(port) for _ in range(6)]
        for sock in uploads:
            sock.sendall(upload_head(MiB) + b"x" * (MiB // 2))  # half sent, then waits
        time.sleep(0.5)
        refused = []
        for sock in uploads:
            sock.settimeout(0.5)
            reply = answer(sock)
            if reply:
                assert reply.startswith(b"HTTP/1.1 503 "), reply[:100]
                assert b"retry-after: 1" in reply.lower()
                refused.append(sock)
        assert len(refused) == 2  # four bodies of 1 MiB fill the 4 MiB
        assert busy_refusals(metrics) - before == 2
        small = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"host": "api.localhost"})
        assert small.status_code == 200
        for sock in uploads:
            sock.close()
        # Their bytes are released with their connections: a body fits again.
        time.sleep(0.3)
        with connect(port) as sock:
            sock.sendall(upload_head(MiB) + b"x" * (MiB // 2))
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(100)  # not refused: the edge waits for the rest


def test_one_client_holds_at_most_its_share_of_the_buffer(tmp_path: Path) -> None:
    env = {
        "EDGE_MAX_BUFFERED_BYTES": str(4 * MiB),
        "EDGE_MAX_BODY_BYTES": str(MiB),
        "EDGE_MAX_CLIENT_BUFFERED_SHARE": "0.5",  # 2 MiB each
    }
    with edge_process(tmp_path, **env) as (port, metrics, _pid):
        before = busy_refusals(metrics)
        greedy = [connect(port, "127.0.0.2") for _ in range(3)]
        for sock in greedy:
            sock.sendall(upload_head(MiB) + b"x" * (MiB // 2))  # half sent, then waits
        time.sleep(0.5)
        answers = []
        for sock in greedy:
            sock.settimeout(0.5)
            answers.append(answer(sock))
        # Two bodies of 1 MiB fill its 2 MiB; the third is refused though 2 MiB are free.
        assert [a[:13] for a in answers].count(b"HTTP/1.1 503 ") == 1, answers
        assert answers.count(b"") == 2
        assert busy_refusals(metrics) - before == 1
        # Another client's body of 1 MiB is held (not refused: the edge waits for the rest).
        with connect(port, "127.0.0.3") as other:
            other.sendall(upload_head(MiB) + b"x" * (MiB // 2))
            other.settimeout(0.5)
            with pytest.raises(TimeoutError):
                other.recv(100)
        for sock in greedy:
            sock.close()
        # Its bytes are released with its connections: it may send again.
        time.sleep(0.3)
        with connect(port, "127.0.0.2") as sock:
            sock.sendall(upload_head(MiB) + b"x" * (MiB // 2))
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(100)


RSS_BOUND = 200 * MiB


def test_rss_stays_bounded_with_three_hundred_connections(tmp_path: Path) -> None:
    """Each of 300 connections starts a 1 MiB body and sends all of it but a byte: with
    the default caps the edge buffers at most 64 MiB of them."""
    with edge_process(tmp_path) as (port, _metrics, pid):
        idle = rss_bytes(pid)
        socks = []
        body = b"x" * (MiB - 1)
        for _ in range(300):
            sock = connect(port)
            with contextlib.suppress(OSError):  # refused early: it may be reset
                sock.sendall(upload_head(MiB) + body)
            socks.append(sock)
        time.sleep(1.0)
        peak = rss_bytes(pid)
        print(f"edge RSS idle {idle / MiB:.0f} MiB, with 300 connections {peak / MiB:.0f} MiB")
        assert peak < RSS_BOUND
        for sock in socks:
            sock.close()


def test_a_trickle_of_chunks_is_cut_at_the_read_timeout(tmp_path: Path) -> None:
    """The read timeout runs from a request's first byte to its last, whatever arrives in
    between: a chunk every 0.1 s does not keep a connection past it."""
    with edge_process(tmp_path, EDGE_READ_TIMEOUT="1") as (port, _metrics, _pid):
        with connect(port) as sock:
            head = (
                b"POST /v1/charges HTTP/1.1\r\nhost: api.localhost\r\n"
                b"content-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            )
            start = time.monotonic()
            sock.sendall(head)
            sock.settimeout(0.1)
            reply = b""
            while not reply and time.monotonic() - start < 5:
                with contextlib.suppress(OSError):
                    sock.sendall(b"1\r\nx\r\n")
                with contextlib.suppress(TimeoutError):
                    reply = sock.recv(65536)
            elapsed = time.monotonic() - start
        assert reply.startswith(b"HTTP/1.1 408 "), reply[:100]
        assert 1.0 <= elapsed < 2.0


def test_refusals_past_twice_the_cap_are_answered_and_closed_at_once(tmp_path: Path) -> None:
    """Refused connections linger so their 503 is read, as many at most as may be open;
    past that, they are closed as soon as answered: a flood cannot pile them up."""
    with edge_process(tmp_path, EDGE_MAX_CONNECTIONS="5") as (port, _metrics, _pid):
        held = [connect(port) for _ in range(5)]
        time.sleep(0.3)
        lingering = [connect(port) for _ in range(5)]
        time.sleep(0.3)
        start = time.monotonic()
        with connect(port) as sock:
            reply = answer(sock)
            assert reply.startswith(b"HTTP/1.1 503 "), reply[:100]
            assert sock.recv(100) == b""  # closed with its answer, not after lingering
        assert time.monotonic() - start < 1.0
        for sock in lingering:
            assert answer(sock).startswith(b"HTTP/1.1 503 ")
        for sock in [*held, *lingering]:
            sock.close()
