"""CORS for ``/v1/cards``: a checkout page on any origin tokenises with its publishable key.

Plain ASGI middleware. Only the vault's one path on an API host is opened to other
origins; every other API path stays same-origin, so a browser page cannot read the
merchant API with a secret key someone pasted into it.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge_proxy.routing import CARDS_PATH, host_name

# No credentials mode: the key travels in Authorization, never in a cookie, so "*" is safe.
# Authorization is never covered by a "*" in Allow-Headers: it is named.
PREFLIGHT_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "Authorization, Content-Type",
    "access-control-max-age": "600",
}


class CardsCors:
    """Answers the preflight of ``/v1/cards`` itself; lets the response be read cross-origin."""

    def __init__(self, app: ASGIApp, api_hosts: list[str]) -> None:
        self.app = app
        self.api_hosts = frozenset(host_name(h) for h in api_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # The vault's route as routing.HostRoutes decides it: an API host, the exact path.
        if scope["path"] != CARDS_PATH or host_name(headers.get("host", "")) not in self.api_hosts:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            # Answered here: the vault serves POST only, and a preflight carries no body.
            await Response(status_code=204, headers=PREFLIGHT_HEADERS)(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("access-control-allow-origin", "*")
            await send(message)

        await self.app(scope, receive, send_with_cors)
