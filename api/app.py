"""One API stack: the merchant API for one mode, over its own database."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.charges import routes as charges
from api.charges.completer import Completer
from api.charges.service import ChargeService
from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.config import Settings
from api.customers import routes as customers
from api.customers.service import CustomerService
from api.fraud_rules import routes as fraud_rules
from api.fraud_rules.service import FraudRuleService
from api.key_cache import KeyCache
from api.marketplaces import routes as marketplaces
from api.marketplaces.service import MarketplaceService
from api.metrics import BusinessMetrics, dead_letter_counter
from api.openapi import document
from api.refunds import routes as refunds
from api.refunds.service import RefundService
from api.reviews import routes as reviews
from api.store.db import make_engine, migrate, session_factory
from api.store.leases import LeaseKeeper
from api.web.callers import Callers
from api.web.state import Services
from api.webhooks import routes as webhooks
from api.webhooks.deliveries import RetryPolicy
from api.webhooks.service import WebhookService
from api.webhooks.worker import WebhookWorker
from servicekit.asgi import EXCEPTION_HANDLERS, StripeHeaders, health_route
from servicekit.errors import error_body
from servicekit.metrics import HttpMetrics, Observe, metrics_listener
from servicekit.serving import configure_logging

log = logging.getLogger("api")


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(document())


async def not_served(request: Request, exc: Exception) -> Response:
    """A 404 that says which Stripe resources Strongroom serves, for a path it does not."""
    assert isinstance(exc, HTTPException)
    if exc.status_code != 404:
        return await EXCEPTION_HANDLERS[HTTPException](request, exc)
    message = (
        f"Strongroom does not serve {request.url.path[:100]}. It serves Stripe's charges, "
        "refunds, customers (and their sources), tokens, events and webhook endpoints; "
        "see 'Switching from Stripe' in docs/api.md."
    )
    return JSONResponse(error_body("invalid_request_error", "resource_missing", message), 404)


def grouped(routes: list[Route]) -> list[Route]:
    """One route per path, dispatching by method: a 405 then names every allowed method."""
    handlers: dict[str, dict[str, Any]] = {}
    for route in routes:
        for method in route.methods or ():
            if method != "HEAD":
                handlers.setdefault(route.path, {})[method] = route.endpoint

    def dispatcher(table: dict[str, Any]) -> Any:
        async def dispatch(request: Request) -> Response:
            response: Response = await table[request.method](request)
            return response

        return dispatch

    return [Route(path, dispatcher(table), methods=list(table)) for path, table in handlers.items()]


def create_app(settings: Settings) -> Starlette:
    metrics = HttpMetrics()
    dead_letters = dead_letter_counter(metrics.registry).labels(settings.mode)

    def metrics_outcome(outcome: str) -> None:
        if outcome == "dead":
            dead_letters.inc()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        """Builds the services, yields them as the lifespan state routes read
        (api.web.state), and closes what they hold."""
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        timeout = settings.upstream_timeout_seconds
        vault = VaultClient(
            settings.vault_url,
            settings.vault_credential.get_secret_value(),
            timeout,
            settings.vault_ca_file,
        )
        fraud = FraudClient(
            settings.fraud_url,
            settings.fraud_credential.get_secret_value(),
            timeout,
            settings.fraud_ca_file,
        )
        sessions = session_factory(engine)
        secret = settings.key_hash_secret.get_secret_value().encode()
        live = settings.livemode
        charge_service = ChargeService(sessions, vault, fraud, live, secret)
        refund_service = RefundService(sessions, vault, charge_service, live, secret)

        lease = LeaseKeeper(sessions, dt.timedelta(seconds=settings.lease_seconds))
        lease.start()
        completer = None
        if settings.completer:
            completer = Completer(
                charge_service,
                refund_service,
                settings.completer_interval_seconds,
                dt.timedelta(seconds=settings.completer_stuck_after_seconds),
                dt.timedelta(seconds=settings.completer_give_up_after_seconds),
            )
            completer.start()

        def housekeeping() -> None:
            charge_service.reviews.close_expired(
                dt.timedelta(seconds=settings.review_timeout_seconds),
                settings.review_timeout_action,
            )

        worker = None
        if settings.webhook_worker:
            policy = RetryPolicy(
                max_attempts=settings.webhook_max_attempts,
                base=dt.timedelta(seconds=settings.webhook_backoff_seconds),
                cap=dt.timedelta(seconds=settings.webhook_backoff_max_seconds),
            )
            worker = WebhookWorker(
                sessions,
                secret,
                live,
                policy,
                timeout=settings.webhook_timeout_seconds,
                concurrency=settings.webhook_concurrency,
                poll_seconds=settings.webhook_poll_seconds,
                allow_private=settings.webhook_allow_private_networks,
                ca_file=settings.webhook_ca_file,
                housekeeping=housekeeping,
            )
        keys = KeyCache()
        keys.listen(engine)
        services = Services(
            settings=settings,
            callers=Callers(settings, sessions, keys),
            charges=charge_service,
            refunds=refund_service,
            customers=CustomerService(sessions, vault, live, secret),
            reviews=charge_service.reviews,
            webhooks=WebhookService(sessions, live, secret),
            fraud_rules=FraudRuleService(fraud),
            marketplaces=MarketplaceService(settings, sessions),
            sessions=sessions,
            worker=worker,
            lease_owner=lease.owner,
        )
        if worker is not None:
            worker.on_outcome = metrics_outcome
            worker.start()
            if completer is not None:
                completer.queued = worker.wake  # deliver what a pass recorded now
        business = BusinessMetrics(sessions, settings.mode)
        metrics.registry.register(business)
        with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
            yield {"services": services}
        metrics.registry.unregister(business)
        if worker is not None:
            worker.stop()
        if completer is not None:
            completer.stop()
        lease.stop()
        keys.close()
        vault.close()
        fraud.close()
        engine.dispose()

    app = Starlette(
        routes=[
            health_route(),
            Route("/v1/openapi.json", openapi, methods=["GET"]),
            *marketplaces.admin_routes,
            *grouped(
                [
                    *marketplaces.routes,
                    *customers.routes,
                    *charges.routes,
                    *refunds.routes,
                    *webhooks.routes,
                    *fraud_rules.routes,
                    *reviews.routes,
                ]
            ),
        ],
        middleware=[Middleware(Observe, metrics), Middleware(StripeHeaders)],
        exception_handlers={**EXCEPTION_HANDLERS, 404: not_served},
        lifespan=lifespan,
    )
    app.state.service_name = f"api-{settings.mode}"
    app.state.metrics = metrics
    return app


def app_from_environment() -> Starlette:
    """The app from API_* variables: what each uvicorn worker process builds (a process of
    its own, whose logging is set up here as `python -m api` sets up its own)."""
    settings = Settings()
    configure_logging(settings.log_level, f"api-{settings.mode}")
    return create_app(settings)
