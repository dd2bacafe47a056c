"""The edge assembled in one place: `create_app(settings)` builds the handler,
`EdgeServer` serves it (and the metrics listener) until it is closed."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from types import TracebackType

from edge_proxy.config import Settings
from edge_proxy.detect import PanDetector
from edge_proxy.metrics import Metrics
from edge_proxy.proxy import SERVICE_NAME, Edge, MetricsEndpoint, Upstream
from edge_proxy.routing import Destination
from edge_proxy.wire.client import UpstreamPool
from edge_proxy.wire.forwarded import proxy_networks
from edge_proxy.wire.server import Limits, Listener, serve

__all__ = ["SERVICE_NAME", "EdgeServer", "create_app", "upstream_pools"]


def upstream_pools(settings: Settings) -> dict[Destination, UpstreamPool]:
    """One pooled client per upstream, as `python -m edge_proxy` uses them."""
    return {
        destination: UpstreamPool(
            url,
            timeout=settings.upstream_timeout,
            max_response_bytes=settings.max_response_bytes,
            ca_file=ca_file,
        )
        for destination, url, ca_file in (
            (Destination.VAULT, settings.vault_url, settings.vault_ca_file),
            (Destination.ROUTER, settings.router_url, settings.router_ca_file),
        )
    }


def server_tls(settings: Settings) -> ssl.SSLContext | None:
    """The public port's TLS context (TLS 1.2 at least), or None for plain HTTP."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return context


def create_app(
    settings: Settings, *, upstreams: Mapping[Destination, Upstream] | None = None
) -> Edge:
    """The edge's handler. `upstreams` replaces the network behind it (tests)."""
    detector = PanDetector(budget=settings.max_inspect_seconds, rules=settings.rules())
    return Edge(settings, upstreams or upstream_pools(settings), detector=detector)


def limits(settings: Settings) -> Limits:
    return Limits(
        max_head_bytes=settings.max_head_bytes,
        max_body_bytes=settings.max_body_bytes,
        read_timeout=settings.read_timeout,
        head_timeout=settings.head_timeout,
        keepalive_timeout=settings.keepalive_timeout,
        max_connections=settings.max_connections,
        max_client_connections=max(
            1, int(settings.max_connections * settings.max_client_connection_share)
        ),
        max_buffered_bytes=settings.max_buffered_bytes,
        max_client_buffered_bytes=int(
            settings.max_buffered_bytes * settings.max_client_buffered_share
        ),
        trusted_proxies=proxy_networks(settings.trusted_proxies),
    )


class EdgeServer:
    """The edge listening: ``async with EdgeServer(settings) as server: ...``."""

    def __init__(
        self,
        settings: Settings,
        *,
        upstreams: Mapping[Destination, Upstream] | None = None,
        access_sink: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.pools = upstream_pools(settings) if upstreams is None else {}
        self.edge = Edge(
            settings, upstreams or self.pools, metrics=Metrics(), access_sink=access_sink
        )
        self.servers: list[Listener] = []

    @property
    def port(self) -> int:
        """The public port actually bound."""
        return self.servers[0].port

    async def __aenter__(self) -> EdgeServer:
        settings = self.settings
        self.servers.append(
            await serve(
                self.edge,
                settings.host,
                settings.port,
                limits(settings),
                reuse_port=settings.reuse_port,
                tls=server_tls(settings),
            )
        )
        if settings.metrics_port is not None:
            endpoint = MetricsEndpoint(self.edge.metrics)
            self.servers.append(
                await serve(endpoint, settings.host, settings.metrics_port, limits(settings))
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for server in self.servers:
            server.close()
        for server in self.servers:
            await server.wait_closed()
        for pool in self.pools.values():
            pool.close()
        self.edge.scanners.shutdown()
