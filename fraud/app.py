"""The fraud service: assesses each charge under its marketplace's rules and signs a
clearance when it allows one; keeps those rules, value lists and every decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fraud.assessor import Assessor
from fraud.config import Settings
from fraud.metrics import Metrics
from fraud.routes import assessments, rules, rulesets, value_lists
from fraud.routes.common import Context
from fraud.rulebook import Rulebook
from fraud.rules.errors import RuleInvalid
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
    client = redis.Redis.from_url(
        settings.counters_url,
        socket_timeout=settings.counters_timeout_seconds,
        socket_connect_timeout=settings.counters_timeout_seconds,
    )
    return RedisVelocity(client, settings.counters_prefix)


async def _rule_invalid(request: Request, exc: Exception) -> Response:
    """A 400 that says where: the column of the rule where it stops making sense."""
    assert isinstance(exc, RuleInvalid)
    error: dict[str, object] = {**error_body(exc.type, exc.code, exc.message, exc.param)["error"]}
    error["position"] = {"column": exc.column}
    return JSONResponse({"error": error}, status_code=400)


def create_app(settings: Settings, velocity: VelocityStore | None = None) -> Starlette:
    signer = ClearanceSigner(
        load_signing_key(settings.signing_key.get_secret_value()), settings.clearance_ttl_seconds
    )
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = session_factory(engine)
    metrics = Metrics()
    decisions = DecisionLog(sessions)
    assessor = Assessor(
        decisions,
        Rulebook(sessions, settings.rules_refresh_seconds),
        velocity or open_velocity(settings),
        signer,
        metrics,
    )

    http = HttpMetrics(metrics.registry)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
            yield
        decisions.close()  # what was decided is committed before the process ends
        engine.dispose()

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
    app.state.ctx = Context(settings=settings, sessions=sessions, assessor=assessor)
    app.state.metrics = metrics
    return app
