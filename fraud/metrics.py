"""Prometheus metrics of the fraud service, in a registry of its own (one per app), served
with its HTTP metrics on FRAUD_METRICS_PORT (servicekit.metrics), not on its port."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter(
            "fraud_decisions",
            "Assessments answered, by mode and decision.",
            ["mode", "decision"],
            registry=self.registry,
        )
        self.unavailable = Counter(
            "fraud_unavailable",
            "Assessments refused because a part failed (the charge is refused), by cause.",
            ["cause"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "fraud_assessment_duration_seconds",
            "Time to assess one charge.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1),
            registry=self.registry,
        )
        # labels() takes a lock and builds a key on every call: the children are kept here.
        self._decided: dict[tuple[str, str], Any] = {}

    def decided(self, mode: str, decision: str) -> None:
        """Count one assessment answered."""
        child = self._decided.get((mode, decision))
        if child is None:
            child = self._decided[(mode, decision)] = self.decisions.labels(mode, decision)
        child.inc()
