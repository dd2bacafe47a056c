"""The edge's handler: route by host and path, run the chain, forward, answer, record."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from edge_proxy.config import Settings
from edge_proxy.cors import CardsCors
from edge_proxy.detect import PanDetector
from edge_proxy.detect.verdict import CLEAN
from edge_proxy.errors import (
    EdgeError,
    InspectionBusy,
    InternalError,
    MethodNotAllowed,
    MisdirectedRequest,
    NotFound,
    UnreadableResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_response,
    framing_error,
    reason,
)
from edge_proxy.filters import Filter, router_chain, run_hook, vault_chain
from edge_proxy.filters.base import HOOKS, Hook, Room, hooked
from edge_proxy.flow import EdgeRequest, EdgeResponse, Flow, Headers
from edge_proxy.headers import downstream_headers, upstream_headers
from edge_proxy.metrics import Metrics
from edge_proxy.record import AccessLog
from edge_proxy.request_id import accepted_request_id, new_request_id
from edge_proxy.routing import Destination, HostRoutes
from edge_proxy.scanning import ScanWorkers
from edge_proxy.static import StaticFiles
from edge_proxy.wire.client import UpstreamError
from edge_proxy.wire.messages import is_bodiless
from edge_proxy.wire.parse import Malformed

SERVICE_NAME = "edge_proxy"

log = logging.getLogger("edge_proxy")

# Methods the edge forwards; TRACE, CONNECT and the like are refused (405).
FORWARDED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Bodies up to this size, once decoded, are scanned on the event loop, whichever path
# they take. Larger ones get the fast path there (C-level passes: milliseconds for a
# megabyte) and, if it cannot clear them, the exact path in a scanning process: an
# adversarial 1 MiB body costs up to the inspection budget, and one request must not
# stall every other. A compressed body is decoded on the loop only up to this size too:
# a 108-byte gzip of gzip inflates to megabytes.
INLINE_SCAN_BYTES = 16 * 1024
# And at most this much CPU time there: 16 KiB of one-digit groups costs 150 ms on the
# exact path, and every other client (the health probe too) would wait that long. Past
# it the scan starts again in a scanning process.
INLINE_SCAN_SECONDS = 0.005
# Few workers: two cores run the event loop and the scans.
SCAN_WORKERS = 2
HEALTH = json.dumps({"status": "ok", "service": SERVICE_NAME}).encode()
JSON = b"application/json"


class Upstream(Protocol):
    """A service behind the edge (`wire.client.UpstreamPool`, or a fake in tests)."""

    async def send(
        self, method: str, target: bytes, headers: Headers, body: bytes
    ) -> EdgeResponse: ...


def forwarded_response(response: EdgeResponse, *, head: bool) -> EdgeResponse:
    """An upstream's response as the client gets it. Headers stay a raw list: several
    Set-Cookie headers must stay several."""
    # No body by definition: the upstream's Content-Length (if any) describes another.
    bodiless = head or is_bodiless(response.status_code)
    headers = downstream_headers(response.headers, keep_length=bodiless)
    return EdgeResponse(response.status_code, headers, b"" if bodiless else response.body)


class Edge:
    """Routing table, filter chains and upstreams, built once from the settings."""

    def __init__(
        self,
        settings: Settings,
        upstreams: Mapping[Destination, Upstream],
        *,
        detector: PanDetector | None = None,
        metrics: Metrics | None = None,
        access_sink: Callable[[str], None] | None = None,
    ) -> None:
        detector = detector or PanDetector(
            budget=settings.max_inspect_seconds, rules=settings.rules()
        )
        self.routes = HostRoutes(settings.api_hosts, settings.js_hosts)
        self.metrics = metrics or Metrics()
        self.access = AccessLog(detector, access_sink)
        self.detector = detector
        self.static = StaticFiles(settings.js_dir, settings.api_origins)
        self.cors = CardsCors(settings.api_hosts)
        self.scanners = ScanWorkers(SCAN_WORKERS, settings.log_level)
        # Scans waiting for or in a worker thread: past the bound, 503 at once rather than
        # a queue that grows without end (each scan may take the whole budget).
        self.max_scans = SCAN_WORKERS + settings.max_inspect_queue
        self.scans = 0
        self.upstreams = {d: upstreams[d] for d in (Destination.VAULT, Destination.ROUTER)}
        # Sent to the vault alone (edge_proxy/headers.py).
        credential = settings.vault_credential
        self.credentials = {
            Destination.VAULT: credential.get_secret_value().encode() if credential else None,
            Destination.ROUTER: None,
        }
        self.chains: dict[Destination, dict[Hook, list[Filter]]] = {}
        self.replace_chain(Destination.VAULT, vault_chain(settings.max_body_bytes, detector))
        self.replace_chain(
            Destination.ROUTER,
            router_chain(settings.max_body_bytes, settings.max_inspect_bytes, detector),
        )

    def replace_chain(self, destination: Destination, filters: list[Filter]) -> None:
        """Set the filters for a destination, kept per hook (the benchmark empties them)."""
        self.chains[destination] = {hook: hooked(filters, hook) for hook in HOOKS}

    async def handle(self, request: EdgeRequest) -> EdgeResponse:
        """Answer one whole request: refused by the edge, or forwarded and checked."""
        started = time.perf_counter()
        given = request.header("x-request-id")
        request_id = accepted_request_id(given, self.detector) or new_request_id()
        flow = Flow(request, request_id)
        destination = "-"
        why: str | None = None
        try:
            destination, response = await self._answer(flow)
        except EdgeError as error:
            why = reason(error)
            self.metrics.blocked(error)
            response = error_response(error)
        except Exception as exc:
            # Handled here: a traceback would print a message that may quote the request.
            # Fail closed: nothing further is forwarded.
            log.error("unexpected error: %s", type(exc).__name__, extra={"request_id": request_id})
            why = "internal_error"
            response = error_response(InternalError())
        if self.cors.applies(request):
            self.cors.expose(response)
        response.headers.append((b"x-request-id", request_id.encode("ascii")))
        seconds = time.perf_counter() - started
        self.metrics.observe(destination, response.status_code, seconds)
        checked = flow.checked and why is None
        self.access.record(
            request,
            response.status_code,
            seconds,
            request_id,
            why,
            checked=checked,
            route=destination,
        )
        return response

    def refuse(self, error: Malformed, client: str | None) -> EdgeResponse:
        """The answer to bytes the HTTP parser would not read as a request."""
        refusal = framing_error(error.status)
        self.metrics.blocked(refusal)
        self.metrics.observe("-", refusal.status_code, 0.0)
        log.warning("refused: reason=%s detail=%r", refusal.code, error.reason)
        return error_response(refusal)

    async def _answer(self, flow: Flow) -> tuple[str, EdgeResponse]:
        request = flow.request
        if request.path == "/healthz" and request.method == "GET":
            return "health", EdgeResponse(200, [(b"content-type", JSON)], HEALTH)
        if request.method not in FORWARDED_METHODS:
            raise MethodNotAllowed()
        destination = self.routes.destination(request.header("host"), request.path)
        if destination is Destination.JS:
            return destination.value, self.static.serve(request)
        if destination is Destination.MISDIRECTED:
            raise MisdirectedRequest()
        preflight = self.cors.preflight(request) if self.cors.applies(request) else None
        if preflight is not None:
            return "cors", preflight
        chain, upstream = self.chains[destination], self.upstreams[destination]
        run_hook(chain["requestheaders"], "requestheaders", flow)
        flow.checked = True  # path, query and headers: no card number
        await self._scan(chain["request"], "request", flow)
        # The vault gets exactly the path it serves (decoded, matched exactly by routing),
        # however the client spelled it.
        path = request.path.encode() if destination is Destination.VAULT else request.raw_path
        target = path + (b"?" + request.query_string if request.query_string else b"")
        flow.response = await self._send(upstream, destination, flow, target)
        await self._scan(chain["response"], "response", flow)
        return destination.value, forwarded_response(flow.response, head=request.method == "HEAD")

    async def _scan(self, filters: list[Filter], hook: Hook, flow: Flow) -> None:
        """Run a body hook's filters on the event loop, with the room they may spend there.
        One that needs more (a decoding past the loop's size, a body the fast path could
        not clear that is too large for the loop, or an exact path past the loop's share)
        answers NEEDS_EXACT: it and the filters after it, which read what it settles,
        run in a scanning process."""
        inline = Room(INLINE_SCAN_BYTES, time.thread_time() + INLINE_SCAN_SECONDS)
        for at, item in enumerate(filters):
            if run_hook([item], hook, flow, inline) is CLEAN:
                continue
            if self.scans >= self.max_scans:
                raise InspectionBusy(param=hook)
            self.scans += 1
            try:
                await self.scanners.run(filters[at:], hook, flow)
            finally:
                self.scans -= 1
            return

    async def _send(
        self, upstream: Upstream, destination: Destination, flow: Flow, target: bytes
    ) -> EdgeResponse:
        started = time.perf_counter()
        request = flow.request
        try:
            # The bytes inspected are the bytes forwarded: decoded, without Content-Encoding
            # (`upstream_headers` drops it), with their own Content-Length.
            response = await upstream.send(
                request.method,
                target,
                upstream_headers(request, flow.request_id, self.credentials[destination]),
                request.inspected,
            )
        except UpstreamError as error:
            log.warning(
                "upstream failed: upstream=%s error=%s",
                destination.value,
                error.kind,
                extra={"request_id": flow.request_id},
            )
            if error.kind == "timeout":
                raise UpstreamTimeout() from None
            if error.kind == "unavailable":
                raise UpstreamUnavailable() from None
            raise UnreadableResponse() from None
        self.metrics.upstream_answered(destination.value, time.perf_counter() - started)
        return response


class MetricsEndpoint:
    """The metrics listener's handler: ``GET /metrics`` and nothing else."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handle(self, request: EdgeRequest) -> EdgeResponse:
        if request.path != "/metrics":
            return error_response(NotFound())
        if request.method != "GET":
            return error_response(MethodNotAllowed())
        return EdgeResponse(
            200, [(b"content-type", b"text/plain; version=0.0.4")], self.metrics.exposition()
        )

    def refuse(self, error: Malformed, client: str | None) -> EdgeResponse:
        return error_response(framing_error(error.status))
