"""The services the API's lifespan built, as every route reaches them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from api.charges.service import ChargeService
from api.config import Settings
from api.customers.service import CustomerService
from api.fraud_rules.service import FraudRuleService
from api.marketplaces.service import MarketplaceService
from api.refunds.service import RefundService
from api.reviews.service import ReviewService
from api.web.callers import Callers
from api.webhooks.service import WebhookService
from api.webhooks.worker import WebhookWorker


@dataclass(frozen=True)
class Services:
    """Everything a route may call, built once by the app's lifespan (api.app)."""

    settings: Settings
    callers: Callers
    charges: ChargeService
    refunds: RefundService
    customers: CustomerService
    # The charge service's own: holding a charge opens its review, canceling it closes one.
    reviews: ReviewService
    webhooks: WebhookService
    fraud_rules: FraudRuleService
    marketplaces: MarketplaceService
    # A POST under an Idempotency-Key keeps its record on these (api.web.idempotent); a
    # feature's routes reach the database through its service alone (test_boundaries.py).
    sessions: sessionmaker[Session]
    # Woken by a POST that queued webhooks, to deliver them now; None when it is off.
    worker: WebhookWorker | None
    # This process's lease (api.store.leases): the claims of Idempotency-Keys name it.
    lease_owner: str

    @property
    def livemode(self) -> bool:
        return self.settings.livemode


def services(request: Request) -> Services:
    """The services the lifespan built: the lifespan state's own dict, as `request.state`
    wraps it (read here directly: a request reads its services several times)."""
    built: Services = request.scope["state"]["services"]
    return built
