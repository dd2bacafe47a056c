"""``EDGE_WORKERS=N``: N edge processes on one port, and a parent that keeps them together.

The parent serves nothing. It starts N copies of ``python -m edge_proxy``, each with
``EDGE_WORKERS=1`` and ``EDGE_REUSE_PORT=1`` (the kernel spreads new connections over
their sockets) and worker i's metrics on ``metrics_port + i``, then waits. SIGTERM or
SIGINT is passed on to every worker. When a worker exits on its own, the others are
stopped and the parent exits non-zero: a supervisor sees an edge that is down, never one
that is quietly smaller than it was configured.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from edge_proxy.config import Settings

log = logging.getLogger("edge_proxy.workers")

POLL_SECONDS = 0.2
STOP_SECONDS = 10.0  # for a worker to finish after SIGTERM; then it is killed


def worker_environment(settings: Settings, index: int) -> dict[str, str]:
    """Worker `index`'s environment: this one, serving alone on a shared port."""
    env = {
        **os.environ,
        "EDGE_WORKERS": "1",
        "EDGE_REUSE_PORT": "1",
        "EDGE_WORKER_OF": str(os.getpid()),
    }
    if settings.metrics_port is not None:
        env["EDGE_METRICS_PORT"] = str(settings.metrics_port + index)
    return env


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        try:
            worker.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("worker %d did not stop in %.0f s: killed", worker.pid, STOP_SECONDS)
            worker.kill()
            worker.wait()


def run_workers(settings: Settings) -> int:
    """Start `settings.workers` workers and wait; the exit status for the parent."""
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    command = [sys.executable, "-m", "edge_proxy"]
    workers = [
        subprocess.Popen(command, env=worker_environment(settings, i))
        for i in range(settings.workers)
    ]
    log.info(
        "edge: %d workers on http://%s:%d (pids %s)",
        len(workers),
        settings.host,
        settings.port,
        " ".join(str(w.pid) for w in workers),
    )
    for handler in logging.getLogger().handlers:
        handler.flush()  # the parent runs no flushing loop: its line goes out now
    while not stopping:
        gone = [w for w in workers if w.poll() is not None]
        if gone:
            for worker in gone:
                log.error("worker %d exited with status %d", worker.pid, worker.returncode)
            _stop(workers)
            return 1
        time.sleep(POLL_SECONDS)
    _stop(workers)
    return 0 if all(w.returncode == 0 for w in workers) else 1
