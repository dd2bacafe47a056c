"""A caller that closes before its body is whole is no server error: the API and fraud
(servicekit's handlers) answer it a quiet 400, log no unhandled error and count no 5xx, as
the vault does. Before, fraud logged such a caller as an unhandled 500."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.asgi import EXCEPTION_HANDLERS, parse_json_object
from tests.helpers.servers import serving


def app(seen: list[int]) -> ASGIApp:
    """A route reading its body as the API's and fraud's do, its answers' statuses seen."""

    async def endpoint(request: Request) -> Response:
        await parse_json_object(request)
        return JSONResponse({})

    inner = Starlette(
        routes=[Route("/v1/assessments", endpoint, methods=["POST"])],
        exception_handlers=EXCEPTION_HANDLERS,
    )

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def sent(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(message["status"])
            await send(message)

        await inner(scope, receive, sent)

    return recording


def test_a_caller_gone_mid_body_is_a_quiet_400(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[int] = []
    with caplog.at_level(logging.ERROR), serving(app(seen)) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(
                b"POST /v1/assessments HTTP/1.1\r\nHost: fraud\r\n"
                b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":'
            )
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen == [400]
    assert not [r for r in caplog.records if "unhandled" in r.getMessage()]
