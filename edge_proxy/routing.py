"""Where a request goes, by its host and path: vault, router, JS bundle or nowhere."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

# The paths that may carry card data: they go to the vault and nowhere else. /v1/tokens is
# Stripe's server-side tokenisation, which its SDKs call.
CARDS_PATH = "/v1/cards"
TOKENS_PATH = "/v1/tokens"
VAULT_PATHS = frozenset({CARDS_PATH, TOKENS_PATH})


class Destination(Enum):
    VAULT = "vault"
    ROUTER = "router"
    JS = "js"
    MISDIRECTED = "misdirected"


def host_name(host: str) -> str:
    """A Host header reduced to the name: lowercased, without port or trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal: the port follows the bracket
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


class HostRoutes:
    """The routing table: API hosts, JS hosts, and the exact paths of the vault."""

    def __init__(self, api_hosts: Iterable[str], js_hosts: Iterable[str]) -> None:
        self.api_hosts = frozenset(host_name(h) for h in api_hosts)
        self.js_hosts = frozenset(host_name(h) for h in js_hosts)

    def destination(self, host: str | None, path: str) -> Destination:
        """Where a request for `host` (the Host header) and decoded `path` goes."""
        name = host_name(host or "")
        if name in self.js_hosts:
            return Destination.JS
        if name not in self.api_hosts:
            return Destination.MISDIRECTED
        # Exact match only: "/v1/cards/" or "/v1/tokens/../x" go through the filters.
        return Destination.VAULT if path in VAULT_PATHS else Destination.ROUTER
