"""Starts the stack's processes, waits until each is healthy, and stops them all."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx

from strongroom.stack import Service


class StartupError(Exception):
    pass


# How often a starting process is asked for /healthz. A refused or answered ask on the
# supervisor's one client costs about 0.1 ms of CPU (httpx.get, a client per ask, costs
# 20 ms: it loads the CA bundle each time, taking CPU from the processes starting).
POLL_SECONDS = 0.02


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _outside_ephemeral() -> range:
    """Ports the OS never hands out on its own: below its ephemeral range (Linux's
    ip_local_port_range), where an outgoing connection cannot take one between the moment
    it is picked and the moment a service binds it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(16384, max(low, 16384 + 4096))


_PORTS = _outside_ephemeral()
_cursor = secrets.randbelow(len(_PORTS))  # each process starts elsewhere in the range


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n distinct ports free now, for stacks started by tests and benchmarks: from below
    the ephemeral range, and in turn, so one process never hands the same port out twice
    until it has gone round the whole range."""
    return [free_port_block(1, host) for _ in range(n)]


def free_port_block(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive ports free now, all handed out (for a service that
    serves on port + i, as the edge's workers' metrics do): the next port handed out is
    past the block."""
    global _cursor
    for _ in range(len(_PORTS)):
        if _cursor + count > len(_PORTS):
            _cursor = 0  # a block does not wrap round the range's end
        base = _PORTS[_cursor]
        _cursor = (_cursor + count) % len(_PORTS)
        if all(port_free(host, base + i) for i in range(count)):
            return base
    raise StartupError(f"no {count} free ports in a row in {_PORTS.start}-{_PORTS.stop - 1}")


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port` while `proc` lives
    (for servers without /healthz: mitmdump, a benchmark's echo); StartupError if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartupError(f"the server for port {port} exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise StartupError(f"nothing listens on port {port}")


def stop_processes(procs: list[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM to each in order, then SIGKILL what outlives `grace` seconds in all."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Supervisor:
    """The processes of one stack. Use as a context manager: leaving it stops them all."""

    def __init__(
        self,
        services: list[Service],
        host: str,
        log_dir: Path,
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._services = services
        self._host = host
        self._log_dir = log_dir
        self._progress = progress
        self._procs: list[tuple[Service, subprocess.Popen[bytes]]] = []
        self._client: httpx.Client | None = None

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 60.0) -> None:
        busy = [s for s in self._services if not port_free(self._host, s.port)]
        if busy:
            names = ", ".join(f"{s.name} ({self._host}:{s.port})" for s in busy)
            raise StartupError(
                f"ports already in use: {names}. Stop what holds them or pick other ports."
            )
        self._log_dir.mkdir(parents=True, exist_ok=True)
        for service in self._services:
            self._procs.append((service, self._spawn(service)))
        deadline = time.monotonic() + timeout
        for service, proc in self._procs:
            self._wait_healthy(service, proc, deadline)
            self._progress(f"  {service.name:<13} healthy on {service.url(self._host)}")

    def _spawn(self, service: Service) -> subprocess.Popen[bytes]:
        log = (self._log_dir / f"{service.name}.log").open("ab")
        env = {**os.environ, **service.env, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", service.module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops them in order
        )
        log.close()
        return proc

    def _wait_healthy(
        self, service: Service, proc: subprocess.Popen[bytes], deadline: float
    ) -> None:
        url = service.url(self._host) + "/healthz"
        if self._client is None:
            self._client = httpx.Client(timeout=1.0)
        while True:
            if proc.poll() is not None:
                log = self._log_dir / f"{service.name}.log"
                raise StartupError(
                    f"{service.name} exited with status {proc.returncode}; "
                    f"its log ends:\n{tail(log)}"
                )
            try:
                if self._client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StartupError(f"{service.name} did not become healthy at {url}")
            time.sleep(POLL_SECONDS)

    def pids(self) -> dict[str, int]:
        """The process id of each service (a service's own workers are its children)."""
        return {s.name: p.pid for s, p in self._procs}

    def restart(self, name: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> None:
        """Start service `name` again (with `env` added to its own) once it has exited,
        and wait until it is healthy: what crash tests do after a process killed itself."""
        for i, (service, proc) in enumerate(self._procs):
            if service.name == name:
                stop_processes([proc])
                again = replace(service, env={**service.env, **(env or {})})
                self._procs[i] = (service, self._spawn(again))
                self._wait_healthy(service, self._procs[i][1], time.monotonic() + timeout)
                return
        raise KeyError(name)

    def dead(self) -> list[str]:
        """Names of processes that have exited on their own."""
        return [s.name for s, p in self._procs if p.poll() is not None]

    def died(self, name: str, timeout: float = 10.0) -> bool:
        """Whether service `name` exits on its own within `timeout` seconds. A caller can see
        a killed process's connections drop before the process has finished exiting, so a
        crash test waits for the exit rather than reading `dead()` once."""
        deadline = time.monotonic() + timeout
        while name not in self.dead():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM in reverse start order (the edge first), SIGKILL what outlives the grace."""
        stop_processes([proc for _, proc in reversed(self._procs)], grace)
        self._procs.clear()
        if self._client is not None:
            self._client.close()
            self._client = None
