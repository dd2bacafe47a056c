"""Every request the shop receives, kept as it arrived: the evidence that no card reached it.

Plain ASGI middleware. It keeps the method, path, query, headers and body of the last
`limit` requests; tests and `strongroom demo` read them from ``GET /_demo/requests``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """The last `limit` requests, oldest first."""

    def __init__(self, limit: int) -> None:
        self._items: deque[Received] = deque(maxlen=limit)

    def add(self, item: Received) -> None:
        self._items.append(item)

    def all(self) -> list[Received]:
        return list(self._items)


class RecordRequests:
    """Records each HTTP request, body included, once the app has read it."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        try:
            await self.app(scope, recording_receive, send)
        finally:
            self.log.add(
                Received(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope["query_string"].decode("latin-1"),
                    headers=[
                        (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
                    ],
                    body=b"".join(chunks).decode("utf-8", "replace"),
                )
            )
