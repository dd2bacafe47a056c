"""The vault's business metrics. Counted where they happen: audit fsync time and write
failures (hooks of the audit log), refusals by a spend cap or breaker (the error handler).
Read at scrape time: whether the key provider answers (sealed), the master key versions
cards are wrapped under, and how much of each spend cap is used (from the database).
Several vault tasks share one database and report the same counts: dashboards take the max.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from vault.store.models import CardRecord, ChargeRecord, SpendControl
from vault_operator.limits import GLOBAL, Caps

log = logging.getLogger("vault.metrics")

FSYNC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# Codes of the refusals that a spend cap or an operator's breaker makes (vault_operator.limits).
CAP_CODES = frozenset({"spend_limit_reached", "breaker_open"})


class VaultMetrics:
    """The counters the vault's code feeds; `State` reads the rest at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.fsync = Histogram(
            "vault_audit_fsync_seconds",
            "Time to write and fsync one batch of audit entries.",
            buckets=FSYNC_BUCKETS,
            registry=registry,
        )
        self.audit_failures = Counter(
            "vault_audit_write_failures",
            "Audit batches that could not be written: their operations were refused.",
            registry=registry,
        )
        self.cap_refusals = Counter(
            "vault_spend_cap_refusals",
            "Live charges refused by a spend cap or an open breaker, by code.",
            ["code"],
            registry=registry,
        )

    def refused(self, code: str) -> None:
        if code in CAP_CODES:
            self.cap_refusals.labels(code).inc()


class State(Collector):
    """vault_sealed, vault_key_versions_in_use and vault_spend_cap_used_ratio."""

    def __init__(
        self, key_version: Callable[[], int], sessions: sessionmaker[Session], caps: Caps
    ) -> None:
        self.key_version = key_version  # asks the key provider (Transit: a call)
        self.sessions = sessions
        self.caps = caps

    def collect(self) -> Iterator[Metric]:
        sealed = GaugeMetricFamily(
            "vault_sealed", "1 while the key provider does not answer: nothing is served."
        )
        try:
            self.key_version()
            sealed.add_metric([], 0)
        except Exception as exc:
            log.warning("key provider unavailable: %s", type(exc).__name__)
            sealed.add_metric([], 1)
        yield sealed
        try:
            yield from self._stored()
        except Exception as exc:
            # The scrape still answers; the gap in these series shows.
            log.warning("vault metrics unavailable: %s", type(exc).__name__)

    def _stored(self) -> Iterator[Metric]:
        versions = GaugeMetricFamily(
            "vault_key_versions_in_use",
            "Cards whose data key is wrapped under each master key version.",
            labels=["version"],
        )
        used = GaugeMetricFamily(
            "vault_spend_cap_used_ratio",
            "Share of a live spend cap used: the global one, and the most used marketplace's.",
            labels=["scope", "window"],
        )
        now = int(time.time())
        with self.sessions() as session:
            rows = session.execute(
                select(CardRecord.key_version, func.count()).group_by(CardRecord.key_version)
            ).all()
            for version, count in rows:
                versions.add_metric([str(version)], count)
            controls = {c.scope: c for c in session.scalars(select(SpendControl))}
            minute = dict(
                session.execute(
                    select(ChargeRecord.marketplace_id, func.sum(ChargeRecord.amount))
                    .where(ChargeRecord.livemode.is_(True), ChargeRecord.created_at > now - 60)
                    .group_by(ChargeRecord.marketplace_id)
                )
                .tuples()
                .all()
            )
        ratios: dict[tuple[str, str], float] = {}
        for scope, control in controls.items():
            kind = "global" if scope == GLOBAL else "marketplace"
            total_cap = control.total_cap
            if total_cap is None:
                total_cap = (
                    self.caps.global_total if kind == "global" else self.caps.marketplace_total
                )
            minute_cap = control.minute_cap
            if minute_cap is None:
                minute_cap = (
                    self.caps.global_minute if kind == "global" else self.caps.marketplace_minute
                )
            spent = sum(minute.values()) if kind == "global" else minute.get(scope, 0)
            for window, value, cap in (
                ("total", control.total_spent, total_cap),
                ("minute", spent or 0, minute_cap),
            ):
                ratio = 1.0 if control.tripped == window else (value / cap if cap else 1.0)
                ratios[(kind, window)] = max(ratios.get((kind, window), 0.0), ratio)
        for (kind, window), ratio in sorted(ratios.items()):
            used.add_metric([kind, window], ratio)
        yield versions
        yield used
