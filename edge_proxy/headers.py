"""Which headers cross the edge, each way, and which the edge sets itself."""

from __future__ import annotations

from edge_proxy.flow import EdgeRequest, Headers

# RFC 9110 §7.6.1: they describe one connection, not the message.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# What the edge proves itself to the vault with (EDGE_VAULT_CREDENTIAL): sent to the vault
# alone, never to the router, and a client's own never passes.
EDGE_CREDENTIAL = b"strongroom-edge-credential"

# Set by the edge alone; a client's own are dropped, not trusted. The edge is the first
# hop it trusts, so it does not extend a client's X-Forwarded-For.
_SET_BY_EDGE = frozenset(
    {
        b"host",
        b"content-length",
        # The edge forwards the body it decoded and inspected, never the coded one.
        b"content-encoding",
        b"expect",
        b"accept-encoding",
        b"x-request-id",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-real-ip",
        EDGE_CREDENTIAL,
    }
)

# Set again by the edge's own server on the way out.
_RESPONSE_OWN = frozenset({b"content-length", b"date", b"server", b"x-request-id"})


def _connection_tokens(headers: Headers) -> set[bytes]:
    """Headers named in Connection are hop-by-hop too."""
    return {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }


def _without(headers: Headers, dropped: frozenset[bytes]) -> Headers:
    extra = _connection_tokens(headers)
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in dropped and name.lower() not in extra
    ]


def upstream_headers(
    request: EdgeRequest, request_id: str, credential: bytes | None = None
) -> Headers:
    """The request's headers for the upstream, with the edge's own added; `credential` is
    the edge's for the vault (None for the router)."""
    headers = _without(request.headers, HOP_BY_HOP | _SET_BY_EDGE)
    if credential:
        headers.append((EDGE_CREDENTIAL, credential))
    headers.append((b"x-request-id", request_id.encode("ascii")))
    if request.client:
        headers.append((b"x-forwarded-for", request.client.encode("latin-1")))
    host = request.header("host")
    if host:
        headers.append((b"x-forwarded-host", host.encode("latin-1")))
    headers.append((b"x-forwarded-proto", request.scheme.encode("ascii")))
    # The edge reads every response it passes on: ask for it uncompressed.
    headers.append((b"accept-encoding", b"identity"))
    return headers


def downstream_headers(headers: Headers, *, keep_length: bool = False) -> Headers:
    """An upstream response's headers for the client; `keep_length` for HEAD."""
    dropped = HOP_BY_HOP | _RESPONSE_OWN
    if keep_length:
        dropped = dropped - {b"content-length"}
    return _without(headers, dropped)
