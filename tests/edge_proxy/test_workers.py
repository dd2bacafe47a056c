"""EDGE_WORKERS: several real edge processes on one port, kept together by their parent."""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from edge_proxy.__main__ import BufferedStderr
from strongroom.supervisor import free_port_block, wait_listening
from tests.helpers.servers import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


@contextmanager
def edge_with_workers(workers: int, metrics_port: int, log: Path) -> Iterator[tuple[int, int]]:
    """`python -m edge_proxy` with EDGE_WORKERS: its port and the parent's pid."""
    port = free_port()
    env = {
        **os.environ,
        "EDGE_PORT": str(port),
        "EDGE_WORKERS": str(workers),
        "EDGE_METRICS_PORT": str(metrics_port),
    }
    with log.open("ab") as out:
        parent = subprocess.Popen(
            [sys.executable, "-m", "edge_proxy"], env=env, cwd=ROOT, stderr=out
        )
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        for i in range(workers):
            wait_listening(metrics_port + i, parent, timeout=15)
        yield port, parent.pid
    finally:
        if parent.poll() is None:
            parent.send_signal(signal.SIGTERM)
        parent.wait(20)


def requests_counted(metrics_port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('edge_requests_total{destination="health"')
    )


def test_two_workers_share_the_port_and_stop_with_their_parent(tmp_path):
    metrics = free_port_block(2)
    log = tmp_path / "edge.log"
    with edge_with_workers(2, metrics, log) as (port, parent):
        assert len(children(parent)) == 2
        assert "edge: 2 workers on http://" in log.read_text()  # written at once
        # New connections, each one request: the kernel spreads them over both workers.
        for _ in range(200):
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert response.json() == {"status": "ok", "service": "edge_proxy"}
        served = [requests_counted(metrics), requests_counted(metrics + 1)]
        assert sum(served) >= 200
        assert min(served) > 0, served
        workers = children(parent)
        os.kill(parent, signal.SIGTERM)
        assert _wait(parent) == 0
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_a_worker_that_dies_takes_the_edge_down(tmp_path):
    metrics = free_port_block(2)
    log = tmp_path / "edge.log"
    with edge_with_workers(2, metrics, log) as (port, parent):
        first, second = children(parent)
        os.kill(first, signal.SIGKILL)
        assert _wait(parent) == 1
        assert not Path(f"/proc/{second}").exists()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    assert f"worker {first} exited" in log.read_text()


def test_workers_stop_when_their_parent_is_killed(tmp_path):
    metrics = free_port_block(2)
    log = tmp_path / "edge.log"
    with edge_with_workers(2, metrics, log) as (port, parent):
        workers = children(parent)
        os.kill(parent, signal.SIGKILL)  # no chance to stop them itself
        assert _wait(parent) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [w for w in workers if Path(f"/proc/{w}").exists()] == []
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    assert f"parent process {parent} is gone" in log.read_text()


def _wait(pid: int) -> int:
    """The exit status of a child of this process (the Popen in edge_with_workers)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError("the parent did not exit")


def test_log_lines_are_written_whole_and_at_most_pipe_buf_at_a_time(monkeypatch):
    read, write = os.pipe()
    handler = BufferedStderr(write, limit=1 << 20)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test_workers.lines")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    sizes: list[int] = []
    real_write = os.write

    def recording_write(fd: int, data: bytes) -> int:
        sizes.append(len(data))
        assert data.endswith(b"\n")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", recording_write)
    try:
        for i in range(300):
            logger.info("line %d %s", i, "x" * (i % 50))
        assert sizes == []  # buffered until flushed
        handler.flush()
        logger.warning("now")  # WARNING and above go out at once
    finally:
        monkeypatch.undo()
        logger.removeHandler(handler)
        os.close(write)
    with os.fdopen(read, "rb") as pipe:
        lines = pipe.read().decode().splitlines()
    assert lines[:300] == [f"line {i} {'x' * (i % 50)}" for i in range(300)]
    assert lines[300:] == ["now"]
    assert len(sizes) > 1 and max(sizes) <= select.PIPE_BUF
