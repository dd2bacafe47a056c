"""The services behind the edge, reached through one shared, pooled HTTP client."""

from __future__ import annotations

import logging

import httpx

from edge_proxy.errors import UpstreamTimeout, UpstreamUnavailable
from edge_proxy.flow import EdgeRequest, EdgeResponse
from edge_proxy.headers import upstream_headers

log = logging.getLogger("edge_proxy.upstream")


def make_client(
    timeout: float, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The edge's one client: pooled connections, no redirects, no proxy from the env."""
    client = httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )
    # httpx adds its own defaults; the upstream should see the client's, or none.
    for name in ("accept", "accept-encoding", "user-agent"):
        del client.headers[name]
    return client


class Upstream:
    """One service behind the edge: where it is, and how to send it a request."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, name: str) -> None:
        self.client = client
        self.base_url = httpx.URL(base_url)
        self.name = name

    def url(self, raw_path: bytes, query_string: bytes) -> httpx.URL:
        """The upstream URL for a path and query exactly as the client sent them."""
        base = self.base_url.raw_path.rstrip(b"/")
        target = base + raw_path + (b"?" + query_string if query_string else b"")
        return self.base_url.copy_with(raw_path=target)

    async def send(self, request: EdgeRequest, request_id: str, raw_path: bytes) -> EdgeResponse:
        """Forward `request` to `raw_path` here and read the whole response."""
        outgoing = self.client.build_request(
            request.method,
            self.url(raw_path, request.query_string),
            headers=upstream_headers(request, request_id),
            content=request.body,
        )
        try:
            response = await self.client.send(outgoing, stream=True)
            try:
                body = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            log.warning("upstream timed out: upstream=%s request_id=%s", self.name, request_id)
            raise UpstreamTimeout() from None
        except httpx.HTTPError as exc:
            log.warning(
                "upstream unavailable: upstream=%s error=%s request_id=%s",
                self.name,
                type(exc).__name__,
                request_id,
            )
            raise UpstreamUnavailable() from None
        return EdgeResponse(response.status_code, list(response.headers.raw), body)
