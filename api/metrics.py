"""The API stack's business metrics, counted in its database when Prometheus scrapes:
charges by status, reviews open, the webhook backlog and dead letters. Several tasks of a
stack share one database and report the same counts: dashboards take their max.
The counts use the indexed columns (status, open) and run once per scrape, not per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.store.models import Charge, Review, WebhookDelivery
from api.webhooks.worker import WebhookWorker

log = logging.getLogger("api.metrics")


class BusinessMetrics(Collector):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        mode: str,
        worker: Callable[[], WebhookWorker | None],
    ) -> None:
        self.sessions = sessions
        self.mode = mode
        self.worker = worker

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
            for status in ("pending", "succeeded", "dead"):
                deliveries.add_metric([self.mode, status], by_delivery.get(status, 0))
            backlog.add_metric([self.mode], by_delivery.get("pending", 0))
            yield from (charges, reviews, deliveries, backlog)
        dead = CounterMetricFamily(
            "api_webhook_dead_letters",
            "Webhook deliveries this process gave up on after their last attempt.",
            labels=["mode"],
        )
        worker = self.worker()
        dead.add_metric([self.mode], worker.outcomes["dead"] if worker is not None else 0)
        yield dead
