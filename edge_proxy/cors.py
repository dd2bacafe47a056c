"""CORS for ``/v1/cards``: a checkout page on any origin tokenises with its publishable key.

Only the vault's one path on an API host is opened to other origins; every other API
path stays same-origin, so a browser page cannot read the merchant API with a secret key
someone pasted into it.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge_proxy.flow import EdgeRequest, EdgeResponse, Headers
from edge_proxy.routing import CARDS_PATH, host_name

# No credentials mode: the key travels in Authorization, never in a cookie, so "*" is safe.
# Authorization is never covered by a "*" in Allow-Headers: it is named.
PREFLIGHT_HEADERS: Headers = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST"),
    (b"access-control-allow-headers", b"Authorization, Content-Type"),
    (b"access-control-max-age", b"600"),
]


class CardsCors:
    """Answers the preflight of ``/v1/cards`` itself; lets its responses be read cross-origin."""

    def __init__(self, api_hosts: Iterable[str]) -> None:
        self.api_hosts = frozenset(host_name(h) for h in api_hosts)

    def applies(self, request: EdgeRequest) -> bool:
        """The vault's route as routing.HostRoutes decides it: an API host, the exact path."""
        return request.path == CARDS_PATH and host_name(request.header("host") or "") in (
            self.api_hosts
        )

    def preflight(self, request: EdgeRequest) -> EdgeResponse | None:
        """The answer to a preflight (the vault serves POST only, a preflight has no body)."""
        if request.method == "OPTIONS" and request.header("access-control-request-method"):
            return EdgeResponse(204, list(PREFLIGHT_HEADERS))
        return None

    @staticmethod
    def expose(response: EdgeResponse) -> None:
        """Make a response (the vault's or the edge's own refusal) readable cross-origin."""
        if not any(name.lower() == b"access-control-allow-origin" for name, _ in response.headers):
            response.headers.append((b"access-control-allow-origin", b"*"))
