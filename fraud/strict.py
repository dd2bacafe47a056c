"""No fraud route takes a query parameter, and only POST takes a body: anything else in a
request is refused (400 naming it) rather than ignored, as the API refuses it."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.asgi import error_response
from servicekit.body import BodyRefused, read_query


class StrictRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._refusal(scope)
            if refusal is not None:
                code, message, param = refusal
                response = error_response(400, "invalid_request_error", code, message, param)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> tuple[str, str, str | None] | None:
        try:
            params = read_query(scope.get("query_string", b""))
        except BodyRefused as exc:
            return exc.code, exc.message, None
        for name in params:
            return "parameter_unknown", f"Received unknown parameter: {name[:40]}.", name
        if scope["method"] != "POST":
            headers = dict(scope["headers"])
            length = headers.get(b"content-length", b"0")
            if b"transfer-encoding" in headers or length.strip() not in (b"", b"0"):
                return "body_unexpected", f"A {scope['method']} request takes no body.", None
        return None
