"""Whether a stack runs from a data dir, its health, and stopping it: `status` and `down`.

`up` writes its pid to DATA_DIR/run/up.pid while it runs; `down` signals that process
(SIGTERM, as Ctrl-C) after checking it is still a `strongroom` process, so a pid reused by
another program after a crash is never signalled.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import httpx

from strongroom.datadir import recorded
from strongroom.devkeys import DevSecrets
from strongroom.marketplaces import load_dev_marketplace
from strongroom.stack import services


def pid_file(data_dir: Path) -> Path:
    return data_dir / "run" / "up.pid"


def running_pid(data_dir: Path) -> int | None:
    """The pid of the `strongroom` process running the data dir's stack, if one runs."""
    try:
        pid = int(pid_file(data_dir).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_strongroom(pid) else None


def _is_strongroom(pid: int) -> bool:
    """A live `strongroom` process (an exited one, even unreaped, has no command line)."""
    try:
        return b"strongroom" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@contextmanager
def running(data_dir: Path) -> Iterator[None]:
    """Mark the data dir's stack as run by this process, for as long as the block lasts."""
    other = running_pid(data_dir)
    if other is not None and other != os.getpid():
        raise click.ClickException(
            f"a stack already runs from {data_dir} (pid {other}); `strongroom down` stops it"
        )
    path = pid_file(data_dir)
    path.parent.mkdir(exist_ok=True, mode=0o700)
    path.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def stop_up(data_dir: Path, timeout: float) -> int | None:
    """SIGTERM the data dir's `up` and wait until it exits; its pid, or None if none ran."""
    pid = running_pid(data_dir)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_strongroom(pid):  # gone, not merely past removing its pid file
            return pid
        time.sleep(0.02)  # a read of /proc: asking often costs nothing
    raise TimeoutError(f"the stack (pid {pid}) is still stopping after {timeout:g} s")


def _health(client: httpx.Client, url: str) -> str:
    try:
        response = client.get(f"{url}/healthz")
    except httpx.HTTPError:
        return "down"
    if response.status_code == 200:
        return "healthy"
    try:
        state = str(response.json().get("status", response.status_code))
    except ValueError:
        state = str(response.status_code)
    return state if state == "sealed" else f"unhealthy ({state})"


def key_versions(data_dir: Path) -> dict[str, Any] | None:
    """The local keyring's versions (current, oldest usable) or its split; never a key."""
    path = data_dir / "vault" / "keyring.json"
    try:
        body = json.loads(path.read_text())
        if "sealed" in body:  # the versions are inside the part custodians unseal
            return {"split": f"{body['threshold']} of {body['custodians']} custodians"}
        return {"current": int(body["current"]), "min_version": int(body.get("min_version", 1))}
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no local keyring (Transit), or none yet


def stack_status(data_dir: Path, secrets_: DevSecrets) -> dict[str, Any]:
    """Each process of the recorded stack: its URL and health (healthy, sealed, down, …)."""
    opts = recorded(data_dir)
    shop = load_dev_marketplace(data_dir)
    # One client for every process: each httpx.get would load the CA bundle again.
    with httpx.Client(timeout=2.0) as client:
        states = {
            s.name: {"url": s.url(opts.host), "status": _health(client, s.url(opts.host))}
            for s in services(opts, secrets_, shop)
        }
    pid = running_pid(data_dir)
    healthy = pid is not None and all(s["status"] == "healthy" for s in states.values())
    return {
        "data_dir": str(data_dir),
        "pid": pid,
        "healthy": healthy,
        "services": states,
        "master_keys": key_versions(data_dir),
    }
