"""The router's own metrics, read from its stacks' gates at scrape time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from router.stacks import Stack


class QueueDepth(Collector):
    """router_queue_depth and router_in_flight per stack: what autoscaling reads."""

    def __init__(self, stacks: Mapping[Any, Stack]) -> None:
        self.stacks = stacks

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "router_queue_depth", "Requests waiting for a permit, by stack.", labels=["stack"]
        )
        in_flight = GaugeMetricFamily(
            "router_in_flight", "Requests sent to the stack, not yet answered.", labels=["stack"]
        )
        for mode, stack in self.stacks.items():
            status = stack.gate.status()
            queued.add_metric([mode], status["queued"])
            in_flight.add_metric([mode], status["in_flight"])
        yield queued
        yield in_flight
