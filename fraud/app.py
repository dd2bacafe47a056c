"""The fraud service: assesses each charge under its marketplace's rules and signs a
clearance when it allows one; keeps those rules, value lists and every decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
import redis.asyncio
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fraud.assessor import Assessor
from fraud.config import Settings
from fraud.metrics import Metrics
from fraud.routes import assessments, rules, rulesets, value_lists
from fraud.rulebook import Rulebook
from fraud.rules.errors import RuleInvalid
from fraud.services import Services
from fraud.signing import ClearanceSigner, load_signing_key
from fraud.store.db import make_engine, migrate, session_factory
from fraud.store.decisions import DecisionLog
from fraud.strict import StrictRequests
from fraud.velocity import VelocityStore
from fraud.velocity.memory import MemoryVelocity
from fraud.velocity.redis_store import RedisVelocity
from servicekit.asgi import EXCEPTION_HANDLERS, health_route
from servicekit.errors import error_body
from servicekit.metrics import HttpMetrics, Observe, metrics_listener


def open_velocity(settings: Settings) -> VelocityStore:
    if settings.counters_url == "memory":
        return MemoryVelocity()
    url, timeout = settings.counters_url, settings.counters_timeout_seconds
    return RedisVelocity(
        redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout),
        settings.counters_prefix,
        # The assessments served over HTTP await their velocity on the event loop.
        async_client=redis.asyncio.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        ),
    )


async def _rule_invalid(request: Request, exc: Exception) -> Response:
    """A 400 that says where: the column of the rule where it stops making sense."""
    assert isinstance(exc, RuleInvalid)
    error: dict[str, object] = {**error_body(exc.type, exc.code, exc.message, exc.param)["error"]}
    error["position"] = {"column": exc.column}
    return JSONResponse({"error": error}, status_code=400)


def build_services(
    settings: Settings, metrics: Metrics, velocity: VelocityStore | None = None
) -> tuple[Services, Engine]:
    """The store (migrated), the decision writer and the assessor; with the engine, which
    the caller disposes of once `services.assessor.decisions` is closed."""
    signer = ClearanceSigner(
        load_signing_key(settings.signing_key.get_secret_value()), settings.clearance_ttl_seconds
    )
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = session_factory(engine)
    assessor = Assessor(
        DecisionLog(sessions),
        Rulebook(sessions, settings.rules_refresh_seconds),
        velocity or open_velocity(settings),
        signer,
        metrics,
    )
    return Services(settings=settings, sessions=sessions, assessor=assessor), engine


def create_app(settings: Settings, velocity: VelocityStore | None = None) -> Starlette:
    """The fraud app; it migrates its store and starts its decision writer when it starts."""
    # A bad signing key stops the app being made, before any server binds its port.
    load_signing_key(settings.signing_key.get_secret_value())
    metrics = Metrics()
    http = HttpMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        services, engine = build_services(settings, metrics, velocity)
        try:
            with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
                yield {"services": services}
        finally:
            services.assessor.decisions.close()  # what was decided is committed first
            engine.dispose()
            if isinstance(services.assessor.velocity, RedisVelocity):
                await services.assessor.velocity.aclose()

    app = Starlette(
        routes=[
            health_route(),
            *assessments.routes,
            *rules.routes,
            *value_lists.routes,
            *rulesets.routes,
        ],
        # Observe outside: a request StrictRequests refuses is counted and logged too.
        middleware=[Middleware(Observe, http), Middleware(StrictRequests)],
        exception_handlers={**EXCEPTION_HANDLERS, RuleInvalid: _rule_invalid},
        lifespan=lifespan,
    )
    app.state.service_name = "fraud"
    app.state.metrics = metrics
    return app
