"""create_app(settings): the vault's ASGI app — routes, error handlers, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import Route

from vault.audit import AuditLog
from vault.auth import MerchantKeys, ServiceCredentials
from vault.cardnet import CardNetwork
from vault.config import Settings, decode_key32
from vault.crypto.envelope import Envelope
from vault.crypto.keyring import LocalKeyring
from vault.errors import EXCEPTION_HANDLERS
from vault.routes.cards import card_metadata, create_card
from vault.routes.charges import create_charge
from vault.routes.health import healthz
from vault.routes.settlement import capture_charge, charge_state, create_refund, void_charge
from vault.services import Services
from vault.services.cards import CardService
from vault.services.charges import ChargeService
from vault.services.settlement import SettlementService
from vault.store import repository
from vault.store.db import make_engine, session_factory
from vault.store.migrate import upgrade_to_head

MAX_BODY_BYTES = 16 * 1024  # a card or a charge is a few hundred bytes


def build_services(settings: Settings, engine: Engine, network: CardNetwork) -> Services:
    """Wire the services; any unusable key, keyring or audit log stops the start here."""
    sessions = session_factory(engine)
    audit = AuditLog(settings.audit_path)
    with sessions() as session:
        first_start = not repository.has_cards(session)
    envelope = Envelope(LocalKeyring(settings.keyring_file, create=first_start))
    fraud_key = Ed25519PublicKey.from_public_bytes(decode_key32(settings.fraud_public_key))
    fingerprint_key = decode_key32(settings.fingerprint_key.get_secret_value())
    cards = CardService(sessions, envelope, audit, fingerprint_key)
    return Services(
        merchants=MerchantKeys(sessions, settings.key_hash_secret.get_secret_value().encode()),
        credentials=ServiceCredentials(
            settings.test_credential.get_secret_value(),
            settings.live_credential.get_secret_value(),
        ),
        cards=cards,
        charges=ChargeService(sessions, cards, audit, fraud_key, network),
        settlement=SettlementService(sessions, audit, network),
    )


def create_app(settings: Settings) -> Starlette:
    """The vault app; it migrates its database and opens its keys when it starts."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = make_engine(settings.db_url)
        network = CardNetwork(
            settings.network_url,
            settings.network_credential.get_secret_value(),
            settings.network_timeout,
        )
        try:
            upgrade_to_head(engine)
            yield {"services": build_services(settings, engine, network)}
        finally:
            network.close()
            engine.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/cards", create_card, methods=["POST"]),
        Route("/internal/v1/cards/{id}", card_metadata, methods=["GET"]),
        Route("/internal/v1/charges", create_charge, methods=["POST"]),
        Route("/internal/v1/charges/{id}", charge_state, methods=["GET"]),
        Route("/internal/v1/charges/{id}/capture", capture_charge, methods=["POST"]),
        Route("/internal/v1/charges/{id}/void", void_charge, methods=["POST"]),
        Route("/internal/v1/refunds", create_refund, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        max_body_size=MAX_BODY_BYTES,
    )
