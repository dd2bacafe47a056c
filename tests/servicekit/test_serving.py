"""How every app-zone service is served (servicekit.serving.SERVER_OPTIONS)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import uvicorn

from servicekit.serving import SERVER_OPTIONS
from strongroom.supervisor import free_ports


async def _echo_client(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_a_callers_forwarded_headers_do_not_change_the_client_or_scheme() -> None:
    port = free_ports(1)[0]
    options = {k: v for k, v in SERVER_OPTIONS.items() if k != "timeout_graceful_shutdown"}
    server = uvicorn.Server(uvicorn.Config(_echo_client, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive()
        answer = httpx.get(
            f"http://127.0.0.1:{port}/",
            headers={"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https"},
        )
    finally:
        server.should_exit = True
        thread.join(10)
    assert answer.json() == {"client": "127.0.0.1", "scheme": "http"}


def test_the_server_ticks_once_a_second_and_stops_at_once_on_a_signal() -> None:
    import signal
    import time

    from servicekit.serving import Server

    port = free_ports(1)[0]
    options = {k: v for k, v in SERVER_OPTIONS.items() if k != "timeout_graceful_shutdown"}
    server = Server(uvicorn.Config(_echo_client, host="127.0.0.1", port=port, **options))
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
        assert thread.is_alive()
    date = httpx.get(f"http://127.0.0.1:{port}/").headers["date"]
    assert date.endswith(" GMT")
    time.sleep(0.3)  # past the first tick: the loop now waits up to a second
    stopping = time.monotonic()
    server.handle_exit(signal.SIGTERM, None)
    thread.join(5)
    assert not thread.is_alive()
    # uvicorn's own shutdown sleeps 0.1 s; the tick adds nothing to it.
    assert time.monotonic() - stopping < 0.8
