"""One API stack: the merchant API for one mode, over its own database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from api.charging import ChargeService
from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.config import Settings
from api.routes import cards, charges, events
from api.routes.common import Context
from api.store.db import make_engine, migrate, session_factory
from strongroom.web import EXCEPTION_HANDLERS, health_route


def create_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url())
        migrate(engine)
        timeout = settings.upstream_timeout_seconds
        vault = VaultClient(
            settings.vault_url, settings.vault_credential.get_secret_value(), timeout
        )
        fraud = FraudClient(
            settings.fraud_url, settings.fraud_credential.get_secret_value(), timeout
        )
        sessions = session_factory(engine)
        app.state.ctx = Context(
            settings=settings,
            sessions=sessions,
            vault=vault,
            charges=ChargeService(sessions, vault, fraud, settings.livemode),
        )
        yield
        vault.close()
        fraud.close()
        engine.dispose()

    app = Starlette(
        routes=[health_route(), *charges.routes, *cards.routes, *events.routes],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service_name = f"api-{settings.mode}"
    return app
