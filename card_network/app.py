"""The simulator's HTTP surface: authorise (or sell: authorise and capture in one message)
and settle, once per idempotency key, and show what was received.

Wired as every service is: the lifespan builds the `Context` (the record read back, the
keys and the ledger restored from it) and yields it as lifespan state; routes reach it
through one typed accessor (`context`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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
from card_network.record import Record
from card_network.settlement import APPROVED, Ledger
from servicekit.asgi import (
    EXCEPTION_HANDLERS,
    first_header,
    health_route,
    json_object_of,
    parse_json_object,
    send_json,
)
from servicekit.errors import AuthenticationError
from servicekit.metrics import HttpMetrics, Observe, metrics_listener

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


def restore(record: Record, replays: Replays, ledger: Ledger) -> None:
    """Rebuild the keys and the ledger from the record: what executed, executes again in
    the same order; repeats and refusals moved nothing."""
    for m in record.all():
        if m.replayed or m.content_digest is None:
            continue
        replays.restore(m.kind, m.idempotency_key, m.content_digest, _answer(m))
        if not m.approved:
            continue
        currency = m.currency or ""
        if m.kind == "authorization":
            ledger.authorized(m.reference, m.merchant, m.amount, currency)
        elif m.kind == "capture":
            ledger.capture(CaptureRequest(**_ids(m), amount=m.amount, currency=currency))
        elif m.kind == "void":
            ledger.void(VoidRequest(**_ids(m)))
        else:
            refund = RefundRequest(
                **_ids(m), authorization=m.authorization or "", amount=m.amount, currency=currency
            )
            ledger.refund(refund)


def _answer(m: RecordedMessage) -> AuthorizationResponse:
    return AuthorizationResponse(
        approved=m.approved, code=m.code, authorization_code=m.authorization_code
    )


def _ids(m: RecordedMessage) -> dict[str, str]:
    return {"reference": m.reference, "merchant": m.merchant}


@dataclass
class Context:
    """What the simulator's routes need (lifespan state `network`)."""

    record: Record
    credential: bytes
    ledger: Ledger = field(default_factory=Ledger)
    replays: Replays = field(default_factory=Replays)

    def digest(self, content: Hashable) -> str:
        """What a repeat must match, keyed: the record never holds a card number's hash."""
        return hmac.digest(self.credential, repr(content).encode(), "sha256").hex()


def context(request: Request) -> Context:
    """The caller's context, once its network credential is checked."""
    return checked(request.state.network, request.headers.get("authorization", ""))


def checked(ctx: Context, authorization: str) -> Context:
    """`ctx`, if `authorization` carries the network credential."""
    scheme, _, credential = authorization.partition(" ")
    token = credential.encode() if scheme == "Bearer" else b""  # the scheme is required
    if not hmac.compare_digest(token, ctx.credential):
        raise AuthenticationError("Unknown network credential.", code="invalid_credential")
    return ctx


def once(
    ctx: Context,
    kind: str,
    key: str,
    content: Hashable,
    execute: Callable[[], AuthorizationResponse],
    fields: dict[str, object],
    follows: Callable[[AuthorizationResponse], list[RecordedMessage]] | None = None,
) -> AuthorizationResponse:
    """Answer a message once per key (a repeat is answered the first answer), and
    record it, repeats and refusals included, with its idempotency key; `follows` names
    what its first execution did besides (a sale's capture), recorded with it. The first
    execution is recorded before its answer is kept: if the record cannot be written, what
    it moved is undone, the key stays unanswered and the error goes to the caller (500)."""
    entry = {
        "received_at": dt.datetime.now(dt.UTC).isoformat(),
        "kind": kind,
        "idempotency_key": key,
        **fields,
    }
    digest = ctx.digest(content)

    def recorded(answer: AuthorizationResponse, replayed: bool) -> RecordedMessage:
        message = {**entry, "replayed": replayed, "content_digest": digest}
        return RecordedMessage.model_validate({**message, **answer.model_dump()})

    def first() -> AuthorizationResponse:
        with ctx.ledger.undone_on_error():
            answer = execute()
            also = [] if follows is None else follows(answer)
            ctx.record.add(recorded(answer, False), *also)
        for m in also:  # answered as what they were: a capture sent after its sale repeats it
            ctx.replays.restore(m.kind, m.idempotency_key, m.content_digest, _answer(m))
        return answer

    try:
        answer, replayed = ctx.replays.once(kind, key, digest, first)
    except KeyReused:
        refused = {"approved": False, "code": KeyReused.code}
        ctx.record.add(RecordedMessage.model_validate({**entry, **refused}))
        raise
    if replayed:
        ctx.record.add(recorded(answer, True))
    return answer


class Authorizations:
    """POST /v1/authorizations, every live charge's message: a plain ASGI endpoint,
    without the Request and Response objects a Starlette function endpoint is wrapped in.
    What it raises reaches the app's exception handlers as any endpoint's does."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = checked(scope["state"]["network"], first_header(scope, b"authorization") or "")
        msg = AuthorizationRequest.model_validate(await json_object_of(scope, receive))
        await send_json(send, _json(authorize(ctx, msg).model_dump(exclude_none=True)))


def _json(content: object) -> bytes:
    """As Starlette's JSONResponse renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode()


def authorize(ctx: Context, msg: AuthorizationRequest) -> AuthorizationResponse:
    """An authorisation (a sale: and its capture), once per reference."""
    # A sale's capture is the capture of the same reference and amount, as if sent apart.
    capture = CaptureRequest(
        reference=msg.reference, merchant=msg.merchant, amount=msg.amount, currency=msg.currency
    )
    capture_fields = capture.model_dump()
    capture_content = tuple(sorted(capture_fields.items()))

    def execute() -> AuthorizationResponse:
        answer = decide(msg, dt.datetime.now(dt.UTC).date())
        if answer.approved:
            ctx.ledger.authorized(msg.reference, msg.merchant, msg.amount, msg.currency)
            if msg.capture:
                ctx.ledger.capture(capture)
        return answer

    def captured(answer: AuthorizationResponse) -> list[RecordedMessage]:
        """The capture an approved sale made, recorded as its own message."""
        if not (msg.capture and answer.approved):
            return []
        entry = {
            "received_at": dt.datetime.now(dt.UTC).isoformat(),
            "kind": "capture",
            "idempotency_key": msg.reference,
            **capture_fields,
            "content_digest": ctx.digest(capture_content),
            **APPROVED.model_dump(),
        }
        return [RecordedMessage.model_validate(entry)]

    # The CVC is left out of what a repeat must match: it is sent to the first
    # attempt only, and a retry after a lost answer comes without it.
    card = (msg.pan, msg.exp_month, msg.exp_year)
    content: tuple[object, ...] = (msg.merchant, card, msg.amount, msg.currency)
    if msg.capture:  # a sale and a plain authorisation are different messages
        content += ("capture",)
    fields = {
        "reference": msg.reference,
        "merchant": msg.merchant,
        "bin": msg.pan[:6],
        "last4": msg.pan[-4:],
        "cvc_present": msg.cvc is not None,
        "capture": msg.capture,
        "amount": msg.amount,
        "currency": msg.currency,
    }
    return once(ctx, "authorization", msg.reference, content, execute, fields, captured)


async def captures(request: Request) -> JSONResponse:
    ctx = context(request)
    msg = CaptureRequest.model_validate(await parse_json_object(request))
    fields = msg.model_dump()
    content = tuple(sorted(fields.items()))
    answer = once(ctx, "capture", msg.reference, content, lambda: ctx.ledger.capture(msg), fields)
    return JSONResponse(answer.model_dump(exclude_none=True))


async def voids(request: Request) -> JSONResponse:
    ctx = context(request)
    msg = VoidRequest.model_validate(await parse_json_object(request))
    fields = msg.model_dump()
    content = tuple(sorted(fields.items()))
    answer = once(ctx, "void", msg.reference, content, lambda: ctx.ledger.void(msg), fields)
    return JSONResponse(answer.model_dump(exclude_none=True))


async def refunds(request: Request) -> JSONResponse:
    ctx = context(request)
    msg = RefundRequest.model_validate(await parse_json_object(request))
    fields = msg.model_dump()
    content = tuple(sorted(fields.items()))
    answer = once(ctx, "refund", msg.reference, content, lambda: ctx.ledger.refund(msg), fields)
    return JSONResponse(answer.model_dump(exclude_none=True))


async def messages(request: Request) -> JSONResponse:
    return JSONResponse({"data": [m.model_dump() for m in context(request).record.all()]})


def create_app(settings: Settings) -> Starlette:
    metrics = HttpMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Context]]:
        credential = settings.credential.get_secret_value().encode()
        ctx = Context(record=Record(settings), credential=credential)
        restore(ctx.record, ctx.replays, ctx.ledger)
        try:
            with metrics_listener(metrics.registry, settings.metrics_host, settings.metrics_port):
                yield {"network": ctx}
        finally:
            ctx.record.close()

    app = Starlette(
        routes=[
            health_route(),
            Route("/v1/authorizations", Authorizations(), methods=["POST"]),
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
