"""The API stack's business metrics, counted in its database when Prometheus scrapes:
charges by status, reviews open, the webhook backlog and dead letters. Several tasks of a
stack share one database and report the same counts: dashboards take their max.
The counts use the indexed columns (status, open) and run once per scrape, not per request.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.domain.states import DELIVERY_STATUSES
from api.store.db import make_engine, session_factory
from api.store.models import Charge, Review, WebhookDelivery
from servicekit.metrics import metrics_listener

log = logging.getLogger("api.metrics")


class BusinessMetrics(Collector):
    def __init__(self, sessions: sessionmaker[Session], mode: str) -> None:
        self.sessions = sessions
        self.mode = mode

    def collect(self) -> Iterator[Metric]:
        charges = GaugeMetricFamily(
            "api_charges", "Charges by status (counted in the database).", labels=["mode", "status"]
        )
        reviews = GaugeMetricFamily(
            "api_reviews_open", "Reviews open, waiting for a person.", labels=["mode"]
        )
        deliveries = GaugeMetricFamily(
            "api_webhook_deliveries", "Webhook deliveries by status.", labels=["mode", "status"]
        )
        backlog = GaugeMetricFamily(
            "api_webhook_backlog", "Webhook deliveries waiting to be sent.", labels=["mode"]
        )
        try:
            with self.sessions() as session:
                by_status = session.execute(
                    select(Charge.status, func.count()).group_by(Charge.status)
                ).all()
                open_reviews = session.scalar(
                    select(func.count()).select_from(Review).where(Review.open.is_(True))
                )
                by_delivery = dict(
                    session.execute(
                        select(WebhookDelivery.status, func.count()).group_by(
                            WebhookDelivery.status
                        )
                    )
                    .tuples()
                    .all()
                )
        except Exception as exc:
            # The scrape still answers (the HTTP metrics); the gap in these series shows.
            log.warning("business metrics unavailable: %s", type(exc).__name__)
        else:
            for status, count in by_status:
                charges.add_metric([self.mode, status], count)
            reviews.add_metric([self.mode], open_reviews or 0)
            for state in DELIVERY_STATUSES:
                deliveries.add_metric([self.mode, state], by_delivery.get(state, 0))
            backlog.add_metric([self.mode], by_delivery.get("pending", 0))
            yield from (charges, reviews, deliveries, backlog)


def dead_letter_counter(registry: CollectorRegistry) -> Counter:
    """Webhook deliveries given up after their last attempt, counted as the worker settles
    them (a count in the database would fall when one is redelivered)."""
    return Counter(
        "api_webhook_dead_letters",
        "Webhook deliveries given up on after their last attempt.",
        ["mode"],
        registry=registry,
    )


@contextmanager
def worker_metrics(settings: Settings) -> Iterator[None]:
    """With API_WORKERS > 1 and a metrics port: the workers count into files of a fresh
    directory (prometheus_client's multiprocess mode, PROMETHEUS_MULTIPROC_DIR, which the
    workers inherit) and none listens itself; this process serves their sum, and the
    database's counts, on the metrics port until the block ends."""
    if settings.metrics_port is None:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="strongroom-api-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        os.environ.pop("API_METRICS_PORT", None)  # read by each worker's settings
        registry = CollectorRegistry()
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        engine = make_engine(settings.resolved_database_url())
        registry.register(BusinessMetrics(session_factory(engine), settings.mode))
        try:
            with metrics_listener(registry, settings.metrics_host, settings.metrics_port):
                yield
        finally:
            engine.dispose()
