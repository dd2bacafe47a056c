"""Real HTTP servers for tests: an ASGI app on a free loopback port, in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from strongroom.supervisor import free_ports
from tests.helpers.tls import LocalPki


def free_port() -> int:
    return free_ports(1)[0]


@contextmanager
def serving(app: Any, port: int | None = None, tls: LocalPki | None = None) -> Iterator[str]:
    """Serve `app` over real HTTP (HTTPS with `tls`'s certificate) until the block ends;
    yields its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        ssl_certfile=None if tls is None else str(tls.cert_file),
        ssl_keyfile=None if tls is None else str(tls.key_file),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"{'http' if tls is None else 'https'}://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"test server on {url} did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def wait_healthy(url: str, timeout: float = 15.0) -> None:
    """Wait until `url` answers GET /healthz with 200; RuntimeError after `timeout`."""
    deadline = time.monotonic() + timeout
    # One client for every ask: httpx.get makes a client each time, 20 ms of CPU (it
    # loads the CA bundle), taken from the server starting.
    with httpx.Client(timeout=1) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url + "/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise RuntimeError(f"{url} never became healthy")
