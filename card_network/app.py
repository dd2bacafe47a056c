"""The simulator's HTTP surface: authorise and settle, once per idempotency key, and show
what was received."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from card_network.config import Settings
from card_network.contracts import (
    AuthorizationRequest,
    AuthorizationResponse,
    CaptureRequest,
    RecordedMessage,
    RefundRequest,
    VoidRequest,
)
from card_network.idempotency import KeyReused, Replays
from card_network.settlement import Ledger
from strongroom.metrics import HttpMetrics, Observe, metrics_listener
from strongroom.web import EXCEPTION_HANDLERS, AuthenticationError, health_route, parse_json_object

# Above this many minor units the simulated issuer declines for want of funds.
ISSUER_LIMIT = 5_000_000


def decide(msg: AuthorizationRequest, today: dt.date) -> AuthorizationResponse:
    if (msg.exp_year, msg.exp_month) < (today.year, today.month):
        return AuthorizationResponse(approved=False, code="expired_card")
    if msg.amount > ISSUER_LIMIT:
        return AuthorizationResponse(approved=False, code="insufficient_funds")
    return AuthorizationResponse(
        approved=True, code="approved", authorization_code=secrets.token_hex(3).upper()
    )


class Record:
    """Messages in arrival order, in memory and appended to a JSON-lines file."""

    def __init__(self, settings: Settings) -> None:
        self._path = settings.record_path
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._messages: list[RecordedMessage] = []

    def add(self, message: RecordedMessage) -> None:
        with self._lock:
            self._messages.append(message)
            with self._path.open("a", encoding="utf-8") as f:
                f.write(message.model_dump_json() + "\n")

    def all(self) -> list[RecordedMessage]:
        with self._lock:
            return list(self._messages)


def create_app(settings: Settings) -> Starlette:
    record = Record(settings)
    ledger = Ledger()
    replays = Replays()
    credential = settings.credential.get_secret_value().encode()

    def authenticate(request: Request) -> None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not hmac.compare_digest(token, credential):
            raise AuthenticationError("Unknown network credential.", code="invalid_credential")

    def once(
        kind: str,
        key: str,
        content: Hashable,
        execute: Callable[[], AuthorizationResponse],
        fields: dict[str, object],
    ) -> JSONResponse:
        """Answer a message once per key (a repeat is answered the first answer), and
        record it, repeats and refusals included, with its idempotency key."""
        entry = {
            "received_at": dt.datetime.now(dt.UTC).isoformat(),
            "kind": kind,
            "idempotency_key": key,
            **fields,
        }
        try:
            answer, replayed = replays.once(kind, key, content, execute)
        except KeyReused:
            refused = {"approved": False, "code": KeyReused.code}
            record.add(RecordedMessage.model_validate({**entry, **refused}))
            raise
        recorded = {**entry, "replayed": replayed, **answer.model_dump()}
        record.add(RecordedMessage.model_validate(recorded))
        return JSONResponse(answer.model_dump(exclude_none=True))

    async def authorizations(request: Request) -> JSONResponse:
        authenticate(request)
        msg = AuthorizationRequest.model_validate(await parse_json_object(request))

        def execute() -> AuthorizationResponse:
            answer = decide(msg, dt.datetime.now(dt.UTC).date())
            if answer.approved:
                ledger.authorized(msg.reference, msg.merchant, msg.amount, msg.currency)
            return answer

        # The CVC is left out of what a repeat must match: it is sent to the first
        # attempt only, and a retry after a lost answer comes without it.
        card = (msg.pan, msg.exp_month, msg.exp_year)
        content = (msg.merchant, card, msg.amount, msg.currency)
        fields = {
            "reference": msg.reference,
            "merchant": msg.merchant,
            "bin": msg.pan[:6],
            "last4": msg.pan[-4:],
            "cvc_present": msg.cvc is not None,
            "amount": msg.amount,
            "currency": msg.currency,
        }
        return once("authorization", msg.reference, content, execute, fields)

    async def captures(request: Request) -> JSONResponse:
        authenticate(request)
        msg = CaptureRequest.model_validate(await parse_json_object(request))
        fields = msg.model_dump()
        content = tuple(sorted(fields.items()))
        return once("capture", msg.reference, content, lambda: ledger.capture(msg), fields)

    async def voids(request: Request) -> JSONResponse:
        authenticate(request)
        msg = VoidRequest.model_validate(await parse_json_object(request))
        fields = msg.model_dump()
        content = tuple(sorted(fields.items()))
        return once("void", msg.reference, content, lambda: ledger.void(msg), fields)

    async def refunds(request: Request) -> JSONResponse:
        authenticate(request)
        msg = RefundRequest.model_validate(await parse_json_object(request))
        fields = msg.model_dump()
        content = tuple(sorted(fields.items()))
        return once("refund", msg.reference, content, lambda: ledger.refund(msg), fields)

    async def messages(request: Request) -> JSONResponse:
        authenticate(request)
        return JSONResponse({"data": [m.model_dump() for m in record.all()]})

    metrics = HttpMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
            yield

    app = Starlette(
        routes=[
            health_route(),
            Route("/v1/authorizations", authorizations, methods=["POST"]),
            Route("/v1/captures", captures, methods=["POST"]),
            Route("/v1/voids", voids, methods=["POST"]),
            Route("/v1/refunds", refunds, methods=["POST"]),
            Route("/v1/messages", messages, methods=["GET"]),
        ],
        middleware=[Middleware(Observe, metrics)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.service_name = "card_network"
    app.state.metrics = metrics
    return app
