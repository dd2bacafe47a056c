"""The edge's one endpoint: route by host and path, run the chain, forward, answer."""

from __future__ import annotations

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from edge_proxy.config import Settings
from edge_proxy.detect import PanDetector
from edge_proxy.errors import MisdirectedRequest, NotFound
from edge_proxy.filters import Filter, router_chain, run_hook, vault_chain
from edge_proxy.flow import EdgeRequest, EdgeResponse, Flow, Headers
from edge_proxy.headers import downstream_headers
from edge_proxy.routing import CARDS_PATH, Destination, HostRoutes
from edge_proxy.upstream import Upstream


def forwarded_response(response: EdgeResponse, *, head: bool) -> Response:
    """An upstream's response as the client gets it. Headers stay a raw list: several
    Set-Cookie headers must stay several."""
    forwarded = Response(response.body, status_code=response.status_code)
    # No body by definition: the upstream's Content-Length (if any) describes another.
    bodiless = head or response.status_code in (204, 304) or response.status_code < 200
    headers: Headers = downstream_headers(response.headers, keep_length=bodiless)
    if not bodiless:
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    forwarded.raw_headers = headers
    return forwarded


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, but never more than ``max_bytes + 1`` bytes of it: enough to know it is
    too large without holding a large one."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            break
    return b"".join(chunks)[: max_bytes + 1]


class EdgeProxy:
    """Routing table, filter chains and upstreams, built once from the settings."""

    def __init__(
        self, settings: Settings, client: httpx.AsyncClient, detector: PanDetector
    ) -> None:
        self.routes = HostRoutes(settings.api_hosts, settings.js_hosts)
        self.max_body_bytes = settings.max_body_bytes
        self.chains: dict[Destination, tuple[list[Filter], Upstream]] = {
            Destination.VAULT: (
                vault_chain(settings.max_body_bytes, detector),
                Upstream(client, settings.vault_url, "vault"),
            ),
            Destination.ROUTER: (
                router_chain(settings.max_body_bytes, detector),
                Upstream(client, settings.router_url, "router"),
            ),
        }

    async def handle(self, request: Request) -> Response:
        """Answer one request: refused by the edge, or forwarded and checked."""
        destination = self.routes.destination(request.headers.get("host"), request.scope["path"])
        if destination is Destination.JS:
            raise NotFound()  # the JS bundle is served here by a later issue
        if destination is Destination.MISDIRECTED:
            raise MisdirectedRequest()
        filters, upstream = self.chains[destination]
        flow = Flow(EdgeRequest.from_scope(request.scope), request.state.request_id)
        run_hook(filters, "requestheaders", flow)
        try:
            flow.request.body = await read_body(request, self.max_body_bytes)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening for the answer
        # Body scans are CPU-bound (an adversarial 1 MiB body costs seconds): run them off
        # the event loop so one request cannot stall every other.
        await run_in_threadpool(run_hook, filters, "request", flow)
        # The vault gets exactly the one path it serves, however the client spelled it.
        raw_path = CARDS_PATH.encode() if destination is Destination.VAULT else None
        flow.response = await upstream.send(
            flow.request, flow.request_id, raw_path or flow.request.raw_path
        )
        await run_in_threadpool(run_hook, filters, "response", flow)
        return forwarded_response(flow.response, head=request.method == "HEAD")
