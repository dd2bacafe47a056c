"""Prometheus metrics of the edge, in a registry of its own (one per app, so tests can
build many). Labels take only bounded values: never a path, a header name or a host."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from edge_proxy.errors import EdgeError

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Requests by destination and status class, refusals by reason, latencies."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "edge_requests",
            "Requests answered, by destination and status class.",
            ["destination", "status"],
            registry=self.registry,
        )
        self.blocks = Counter(
            "edge_blocks",
            "Requests or responses the edge refused or withheld, by reason and place.",
            ["reason", "where"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "edge_request_duration_seconds",
            "Time from a whole request to its answer, by destination.",
            ["destination"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.upstream_latency = Histogram(
            "edge_upstream_duration_seconds",
            "Time an upstream took to answer, by upstream.",
            ["upstream"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

        # labels() takes a lock and builds a key each time: the children are kept here.
        self._children: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        child = self._children.get((metric, labels))
        if child is None:
            child = self._children[(metric, labels)] = metric.labels(*labels)
        return child

    def observe(self, destination: str, status: int, seconds: float) -> None:
        self._child(self.requests, destination, f"{status // 100}xx").inc()
        self._child(self.latency, destination).observe(seconds)

    def upstream_answered(self, upstream: str, seconds: float) -> None:
        self._child(self.upstream_latency, upstream).observe(seconds)

    def blocked(self, error: EdgeError) -> None:
        # "header:x-memo" -> "header": a header's name is the client's choice, unbounded.
        where = (error.param or "-").split(":", 1)[0]
        self.blocks.labels(error.code, where).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
