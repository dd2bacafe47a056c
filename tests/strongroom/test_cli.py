"""The `strongroom` command as a newcomer runs it: real processes, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from strongroom.supervisor import free_ports

pytestmark = pytest.mark.e2e

STRONGROOM = [sys.executable, "-m", "strongroom"]
PORT_OPTIONS = ["edge", "router", "api-test", "api-live", "vault", "fraud", "network", "merchant"]


def port_args(ports: list[int]) -> list[str]:
    return [
        arg
        for name, port in zip(PORT_OPTIONS, ports, strict=True)
        for arg in (f"--{name}-port", str(port))
    ]


def strongroom(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    return subprocess.run(
        [*STRONGROOM, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def test_up_then_marketplace_create_status_list_and_down(tmp_path: Path) -> None:
    ports = free_ports(len(PORT_OPTIONS))
    up = subprocess.Popen(
        [*STRONGROOM, "up", "--data-dir", str(tmp_path), *port_args(ports)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = up.stdout.readline()
            lines.append(line)
            if "Press Ctrl-C to stop." in line or not line:
                break
        output = "".join(lines)
        assert "Strongroom is up" in output, output
        assert re.search(r"sk_test\s+sk_test_\w+", output)  # the dev marketplace's keys

        # Through the running stack's admin interfaces, at the ports `up` recorded.
        created = strongroom("marketplace", "create", "Acme Books", "--data-dir", str(tmp_path))
        assert created.returncode == 0, created.stderr
        found = re.findall(r"^\s+(pk_test|sk_test|pk_live|sk_live)\s+(\S+)$", created.stdout, re.M)
        keys = dict(found)
        assert sorted(keys) == ["pk_live", "pk_test", "sk_live", "sk_test"]
        assert all(value.startswith(name + "_") for name, value in keys.items())

        card = httpx.post(
            f"http://127.0.0.1:{ports[0]}/v1/cards",
            headers={"host": "api.localhost", "authorization": f"Bearer {keys['pk_test']}"},
            json={"number": "4242424242424242", "exp_month": 1, "exp_year": 2040, "cvc": "314"},
        )
        assert card.status_code == 201, card.text
        shop = httpx.get(f"http://127.0.0.1:{ports[PORT_OPTIONS.index('merchant')]}/healthz")
        assert shop.json()["service"] == "merchant_demo"  # the demo shop runs with the stack

        # Later commands take the ports `up` recorded: no port option given to them.
        status = strongroom("status", "--data-dir", str(tmp_path), "--json")
        assert status.returncode == 0, status.stdout
        report = json.loads(status.stdout)
        assert report["pid"] == up.pid and report["healthy"]
        assert report["services"]["edge"]["url"] == f"http://127.0.0.1:{ports[0]}"
        assert report["master_keys"] == {"current": 1, "min_version": 1}
        listed = strongroom("marketplace", "list", "--data-dir", str(tmp_path), "--json")
        names = [m["name"] for m in json.loads(listed.stdout)["data"]]
        assert names == ["dev", "Acme Books"]
        down = strongroom("down", "--data-dir", str(tmp_path))
        assert down.returncode == 0 and f"pid {up.pid}" in down.stdout, down.stderr
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGTERM)
        rest, _ = up.communicate(timeout=30)
    assert up.returncode == 0, rest
    assert "Stopped." in rest
    for port in ports:  # every process is gone and its port free again
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    after = strongroom("status", "--data-dir", str(tmp_path), "--json")
    assert after.returncode == 1 and json.loads(after.stdout)["pid"] is None


def test_up_refuses_a_port_in_use_and_says_which(tmp_path: Path) -> None:
    ports = free_ports(len(PORT_OPTIONS))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[4]))
        holder.listen()
        result = subprocess.run(
            [*STRONGROOM, "up", "--data-dir", str(tmp_path), *port_args(ports)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"vault (127.0.0.1:{ports[4]})" in result.stderr
