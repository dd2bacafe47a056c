"""The vault's request log and RED metrics, and its internal /metrics listener: a copy of
servicekit/metrics.py (the vault imports nothing of this repository), so every service
publishes the same http_* series and writes the same request line. The vault's business
metrics: vault_operator.metrics. docs/operations.md, "Metrics" and "Logs".
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vault.logs import REQUEST_ID

# Seconds: a fast internal call is a millisecond; a charge through the network, seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# The edge's format for request ids (edge_proxy.request_id): anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# Probes come every few seconds from every balancer: logged at DEBUG, not at INFO.
QUIET_ROUTES = frozenset({"/healthz"})

access_log = logging.getLogger("vault.access")


class HttpMetrics:
    """Requests, errors and durations by route template, method and status code."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "Requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        # The 5xx subset of http_requests_total, kept apart for CloudWatch alarms, which
        # cannot sum a metric over the values of a label.
        self.server_errors = Counter(
            "http_server_errors",
            "Requests answered with a 5xx status, by route template and method.",
            ["route", "method"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from a request's start to the end of its answer, by route template.",
            ["route", "method"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        # labels() takes a lock and builds a key each time: the children are kept here.
        self._children: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(route, method, str(status)),
                self.server_errors.labels(route, method) if status >= 500 else None,
                self.duration.labels(route, method),
            )
        count, errors, duration = children
        count.inc()
        if errors is not None:
            errors.inc()
        duration.observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/v1/charges/{id}`), never the raw path: a raw
    path is unbounded as a label and may carry ids a log need not hold."""
    path: object = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def request_id_of(scope: Scope) -> str:
    """The edge's X-Request-Id when well-formed, else a fresh one (a call past the edge)."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(given):
                return given
            break
    return "req_" + secrets.token_hex(12)


class Observe:
    """ASGI middleware: the request id for every log line of the request, the RED metrics,
    and one `request` log line (DEBUG for health probes) once the answer is sent."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = REQUEST_ID.set(request_id_of(scope))
        started = time.perf_counter()
        status = 500  # an app that raised before answering: its server answers 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_template(scope), scope["method"]
            self.metrics.observe(route, method, status, seconds)
            level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
            if access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    "request",
                    extra={
                        "event": "request",
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
            REQUEST_ID.reset(token)


@contextmanager
def metrics_listener(
    registry: CollectorRegistry, host: str, port: int | None
) -> Iterator[int | None]:
    """Serve GET /metrics of `registry` on host:port in a thread for as long as the block
    lasts; nothing when `port` is None. Yields the port bound (0 picks a free one)."""
    if port is None:
        yield None
        return
    server, thread = start_http_server(port, host, registry)
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
