"""create_app(settings): the vault's ASGI app — routes, error handlers, lifespan.

The composition root: the one module of the card core that builds and mounts what the vault
hosts (settlement, the operator channel, the audit archive).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from settlement.approvals import Approvals
from settlement.routes import ROUTES as SETTLEMENT_ROUTES
from settlement.routes import Settling
from settlement.service import SettlementService
from vault import identity
from vault.audit import AuditLog, Refusals
from vault.auth import MerchantKeys, ServiceCredentials
from vault.cardnet import CardNetwork, ask, first_answer
from vault.config import Settings, decode_key32
from vault.crypto.envelope import Envelope
from vault.crypto.keyed_hash import api_key_hash
from vault.crypto.keyring import KeyProvider, LocalKeyring
from vault.crypto.transit import TransitKeys
from vault.domain.pacing import TokenisingPace
from vault.domain.test_network import Outcome
from vault.errors import VaultError, error_body
from vault.observe import HttpMetrics, Observe, metrics_listener
from vault.routes.cards import card_metadata, create_card, create_token
from vault.routes.charges import create_charge
from vault.routes.common import BodyLimit
from vault.routes.health import healthz
from vault.routes.state import Services
from vault.services.cards import CardService
from vault.services.charges import ChargeService
from vault.services.keys import KeyCommands
from vault.store import repository
from vault.store.claims import Claims
from vault.store.db import make_engine, session_factory
from vault.store.migrate import upgrade_to_head
from vault.trusted import TrustedEdge
from vault_audit.archive import AuditArchive, checkpoint_or_log
from vault_audit.checkpoint import load_or_create_key
from vault_operator.limits import Caps, reserve
from vault_operator.metrics import State, VaultMetrics
from vault_operator.registration import KeyRegistry
from vault_operator.routes import ROUTES as OPERATOR_ROUTES
from vault_operator.service import OperatorService

_FIELD_NAME = re.compile(r"[A-Za-z_]{1,40}")
MAX_BODY_BYTES = 16 * 1024  # a card or a charge is a few hundred bytes
log = logging.getLogger("vault")


def key_provider(settings: Settings, first_start: bool) -> KeyProvider:
    """Transit if configured, else the local keyring (created only while no card needs it)."""
    if settings.key_provider == "transit":
        assert settings.transit_token is not None  # Settings requires it for transit
        return TransitKeys(
            settings.transit_url,
            settings.transit_token.get_secret_value(),
            settings.transit_key,
            settings.transit_mount,
            settings.network_timeout,
            settings.transit_ca_file,
        )
    return LocalKeyring(settings.keyring_file, create=first_start)


def caps(settings: Settings) -> Caps:
    return Caps(
        settings.marketplace_minute_cap,
        settings.marketplace_total_cap,
        settings.global_minute_cap,
        settings.global_total_cap,
    )


def public_key(encoded: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(decode_key32(encoded))


class SettlementNetwork:
    """The card network as settlement uses it: captures, voids and refunds by the
    authorisation's id, asked again as vault.cardnet asks (settlement imports no card type,
    so not cardnet)."""

    def __init__(self, network: CardNetwork) -> None:
        self._network = network

    def first_answer(self, kind: str, body: dict[str, object]) -> Outcome:
        return first_answer(lambda: self._network.settle(kind, body), self._network.retry_budget)

    def ask_again(self, kind: str, body: dict[str, object]) -> Outcome | None:
        return ask(lambda: self._network.settle(kind, body), 0)


def build(settings: Settings, engine: Engine, network: CardNetwork) -> dict[str, Any]:
    """The lifespan state: the card core's services, settlement's and the operator's, and
    the key provider; any unusable key, keyring or audit log stops the start here."""
    sessions = session_factory(engine)
    audit = AuditLog(settings.audit_path, engine)
    with sessions() as session:
        first_start = not repository.has_cards(session)
    keys = key_provider(settings, first_start)
    this = identity.establish(sessions, audit, keys, settings.environment)
    fraud_key = public_key(settings.fraud_public_key)
    cards = CardService(sessions, Envelope(keys), audit, settings)
    claims = Claims(settings.claim_lease)
    lifetime = settings.clearance_max_lifetime
    spend = caps(settings)

    def reserved(conn: Connection, marketplace: str, amount: int, now: int) -> VaultError | None:
        return reserve(conn, spend, marketplace, amount, now)

    charges = ChargeService(sessions, cards, audit, fraud_key, network, reserved, lifetime, claims)
    approvals = Approvals(sessions, fraud_key, lifetime)
    settlement = SettlementService(sessions, audit, SettlementNetwork(network), claims, approvals)
    refusals = Refusals(audit)
    key_hash_secret = settings.key_hash_secret.get_secret_value().encode()
    merchants = MerchantKeys(engine, key_hash_secret, refusals)
    credentials = ServiceCredentials(
        settings.test_credential.get_secret_value(),
        settings.live_credential.get_secret_value(),
        refusals,
    )
    pace = TokenisingPace(settings.tokenise_per_client_minute, settings.tokenise_per_key_minute)
    registry = KeyRegistry(audit, partial(api_key_hash, key_hash_secret), merchants.forget)
    operator_key = settings.operator_public_key
    operator = OperatorService(
        audit,
        None if operator_key is None else public_key(operator_key),
        (this.vault_id, this.environment),
        KeyCommands(sessions, keys, audit),
        registry,
    )
    edge_credential = settings.edge_credential
    edge = TrustedEdge(
        settings.trusted_proxies,
        edge_credential.get_secret_value() if edge_credential else None,
    )
    return {
        "services": Services(this, audit, merchants, credentials, cards, charges, pace, edge),
        "settlement": Settling(settlement, credentials),
        "operator": operator,
        "keys": keys,
    }


async def repeat(job: Callable[[], object], interval: float) -> None:
    """Run `job` every `interval` seconds for as long as the vault runs, on its own: the
    completer may wait on the network, and neither the audit catch-up nor the renewal of
    leases may wait behind it."""
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(job)
        except Exception as exc:
            # Retried next round: a missed renewal costs at most a takeover, and a takeover
            # is safe (vault.store.claims); work the completer missed stays processing; the
            # charge path never uses an expired CVC anyway.
            log.error("%s failed: %s", getattr(job, "__name__", job), type(exc).__name__)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "resource_missing", 405: "method_not_allowed", 413: "body_too_large"}
    code = codes.get(exc.status_code, "http_error")
    response = JSONResponse(error_body("invalid_request_error", code, exc.detail), exc.status_code)
    response.headers.update(exc.headers or {})  # a 405 names the methods allowed (RFC 9110)
    return response


async def _client_gone(request: Request, exc: Exception) -> Response:
    # A caller that closed before its body was whole: no server error, and no answer read.
    return JSONResponse(
        error_body("invalid_request_error", "body_incomplete", "The body ended before its length."),
        400,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    # include_input=False: the rejected value may be a card number or a CVC.
    first = exc.errors(include_input=False, include_url=False, include_context=False)[0]
    loc, message = first["loc"], first["msg"]
    if first["type"] == "extra_forbidden":
        message = "A field this endpoint does not take was sent."
        # The last part of its place is the unknown key itself, input: named only when it
        # is letters and underscores (a misspelt field), which hold no card number or CVC.
        if not _FIELD_NAME.fullmatch(str(loc[-1])):
            loc = loc[:-1]
    param = ".".join(str(part) for part in loc) or None
    code = "parameter_missing" if first["type"] == "missing" else "parameter_invalid"
    body = error_body("invalid_request_error", code, message, param)
    return JSONResponse(body, status_code=400)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    # The class name only: a third-party exception's text could quote its input.
    log.error("unhandled %s on %s", type(exc).__name__, request.url.path)
    body = error_body("api_error", "internal_error", "An internal error occurred.")
    return JSONResponse(body, status_code=500)


def create_app(settings: Settings) -> Starlette:
    """The vault app; it migrates its database and opens its keys when it starts."""
    http = HttpMetrics()
    counted = VaultMetrics(http.registry)

    async def vault_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VaultError)
        counted.refused(exc.code)
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        engine = make_engine(settings.db_url)
        network = CardNetwork(
            settings.network_url,
            settings.network_credential.get_secret_value(),
            settings.network_timeout,
            settings.network_retry_budget,
            settings.network_ca_file,
        )
        tasks: list[asyncio.Task[None]] = []
        archive = None
        try:
            upgrade_to_head(engine)
            state = build(settings, engine, network)
            services: Services = state["services"]
            # After the log itself verified: a log that lost checkpointed entries stops here.
            key = load_or_create_key(settings.checkpoint_key_file)
            archive = AuditArchive(settings.audit_path, settings.archive_dir, key)

            def complete_abandoned() -> None:
                # Recovery (docs/vault.md): the card core's charges, then settlement's work.
                services.charges.complete_abandoned()
                state["settlement"].service.complete_abandoned()

            every: dict[Callable[[], object], float] = {
                services.audit.catch_up: 1.0,  # owed audit entries
                services.cards.destroy_expired_cvcs: min(60.0, settings.cvc_ttl / 2),
                services.charges.renew_claims: settings.claim_lease / 3,
                complete_abandoned: settings.completer_interval,
                partial(checkpoint_or_log, archive): settings.audit_checkpoint_interval,
            }
            tasks = [asyncio.create_task(repeat(job, s)) for job, s in every.items()]
            services.audit.on_fsync = counted.fsync.observe
            services.audit.on_failure = counted.audit_failures.inc
            read = State(lambda: state["keys"].current, session_factory(engine), caps(settings))
            http.registry.register(read)
            with metrics_listener(http.registry, settings.metrics_host, settings.metrics_port):
                yield state
            http.registry.unregister(read)
        finally:
            for task in tasks:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            if archive is not None:  # archive the entries of the last minutes
                await run_in_threadpool(checkpoint_or_log, archive)
            network.close()
            engine.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/cards", create_card, methods=["POST"]),
        Route("/v1/tokens", create_token, methods=["POST"]),
        Route("/internal/v1/cards/{id}", card_metadata, methods=["GET"]),
        Route("/internal/v1/charges", create_charge, methods=["POST"]),
        *SETTLEMENT_ROUTES,  # on the state `settlement`
        *OPERATOR_ROUTES,  # on the state `operator`
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Observe, http),
            Middleware(BodyLimit, MAX_BODY_BYTES, settings.body_timeout),
        ],
        exception_handlers={
            VaultError: vault_error,  # the one place the vault's errors become responses
            HTTPException: _http_error,
            ValidationError: _validation_error,
            ClientDisconnect: _client_gone,
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.metrics = http
    return app
