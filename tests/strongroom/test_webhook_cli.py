"""`strongroom listen --forward-to` and `strongroom trigger`, against a stack `up` started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from api.webhooks.signing import HEADER, verify
from strongroom.stack import Ports
from strongroom.supervisor import free_ports

pytestmark = pytest.mark.e2e

STRONGROOM = [sys.executable, "-m", "strongroom"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`strongroom up` on free ports; later commands find them recorded in the data dir."""
    path = tmp_path_factory.mktemp("listen")
    ports = free_ports(len(fields(Ports)))
    args = [
        a
        for f, p in zip(fields(Ports), ports, strict=True)
        for a in (f"--{f.name.replace('_', '-')}-port", str(p))
    ]
    up = subprocess.Popen(
        [*STRONGROOM, "up", "--data-dir", str(path), "--api-test-priority", "normal", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert up.stdout is not None
    seen = ""
    while "Press Ctrl-C" not in seen:
        line = up.stdout.readline()
        assert line, seen
        seen += line
    try:
        yield path
    finally:
        up.send_signal(signal.SIGTERM)
        up.communicate(timeout=60)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    """A local endpoint recording each POST's body and signature header."""
    received: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((body, self.headers.get(HEADER, "")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()


def test_trigger_makes_events_that_listen_forwards_signed(
    data_dir: Path, receiver: tuple[str, list[tuple[bytes, str]]]
) -> None:
    url, received = receiver
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    listen = subprocess.Popen(
        [
            *STRONGROOM,
            "listen",
            "--data-dir",
            str(data_dir),
            "--forward-to",
            url,
            "--events",
            "charge.succeeded,refund.succeeded",
            "--count",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert listen.stdout is not None
        ready = listen.stdout.readline()
        assert "Ready! Your webhook signing secret is whsec_" in ready, ready
        # The word after "is ": split once, as a secret ending in "is" would split again.
        secret = ready.split("secret is ", 1)[1].split()[0]
        triggered = subprocess.run(
            [*STRONGROOM, "trigger", "refund.succeeded", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert triggered.returncode == 0, triggered.stderr
        out, err = listen.communicate(timeout=60)
    finally:
        if listen.poll() is None:
            listen.kill()
    assert listen.returncode == 0, err
    assert "--> charge.succeeded" in out and "<-- [200]" in out
    types = [json.loads(body)["type"] for body, _ in received]
    # Events of one second are ordered by id, not by cause: as deliveries, in any order.
    assert sorted(types) == ["charge.succeeded", "refund.succeeded"]
    for body, header in received:
        verify(body, header, secret)  # raises unless signed with the printed secret


def test_trigger_refuses_a_live_key(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    result = subprocess.run(
        [
            *STRONGROOM,
            "trigger",
            "charge.succeeded",
            "--data-dir",
            str(data_dir),
            "--api-key",
            "sk_live_0123456789abcdef0123",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 2 and "a test secret key" in result.stderr
