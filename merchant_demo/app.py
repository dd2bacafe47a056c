"""`create_app(settings)`: the demo shop as an ASGI app, assembled in one place."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from merchant_demo import pages
from merchant_demo.bundle import Bundle, BundleUnavailable
from merchant_demo.config import Settings
from merchant_demo.payments import ChargeRefused, Payments
from merchant_demo.recorder import RecordRequests, RequestLog

TOKEN = re.compile(r"card_[A-Za-z0-9]{1,64}")
ORDER_ID = re.compile(r"[a-z0-9]{16,32}")


def new_order_id() -> str:
    """Letters only: it travels in an Idempotency-Key header, and random hex now and then
    holds a Luhn-valid run of digits that the edge would refuse as a card number."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(20))


STATUS_MESSAGES = {
    "succeeded": "Your payment went through.",
    "pending": "Your payment is being reviewed; we will email you when it completes.",
    "blocked": "Your payment was blocked. Try another card or contact your bank.",
}


@dataclass
class Context:
    """What the shop's routes need: built by the lifespan, yielded as its state `shop`."""

    settings: Settings
    csp: str
    requests: RequestLog
    bundle: Bundle
    payments: Payments
    charges: list[dict[str, Any]] = field(default_factory=list)


def context(request: Request) -> Context:
    """The shop the lifespan built."""
    ctx: Context = request.state.shop
    return ctx


def content_security_policy(settings: Settings) -> str:
    """What a checkout page with strongroom.js must allow, and nothing more."""
    js, api = settings.js_url, settings.api_url
    return (
        f"default-src 'self'; script-src 'self' {js}; frame-src {js}; "
        f"connect-src 'self' {api}; style-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def html(request: Request, text: str, status_code: int = 200) -> HTMLResponse:
    headers = {
        "content-security-policy": context(request).csp,
        "referrer-policy": "strict-origin-when-cross-origin",
        "cache-control": "no-store",
    }
    return HTMLResponse(text, status_code=status_code, headers=headers)


async def index(request: Request) -> Response:
    return html(request, pages.index())


async def checkout_form(request: Request) -> Response:
    """Form mode: the shop's own form, card fields without names; a fresh order id."""
    ctx = context(request)
    settings = ctx.settings
    try:
        script = await ctx.bundle.script()
    except BundleUnavailable:
        return html(request, pages.unavailable(), 503)
    order_id = new_order_id()
    return html(request, pages.checkout_form(script, settings.pk_test, settings.api_url, order_id))


async def checkout_hosted(request: Request) -> Response:
    """Hosted-fields mode: the card inputs in Strongroom's iframe; a fresh order id."""
    ctx = context(request)
    try:
        script = await ctx.bundle.script()
    except BundleUnavailable:
        return html(request, pages.unavailable(), 503)
    settings = ctx.settings
    return html(request, pages.checkout_hosted(script, settings.pk_test, new_order_id()))


async def charge(request: Request) -> Response:
    """The shop's server: charge the token the checkout sent, once per order."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    token, order_id = form.get("strongroom_token", ""), form.get("order_id", "")
    item = pages.CATALOGUE.get(form.get("item", ""))
    if not TOKEN.fullmatch(token):
        message = "No card token arrived with the order, so nothing was charged."
        return html(request, pages.result("no_token", message), 400)
    if item is None or not ORDER_ID.fullmatch(order_id):
        return html(request, pages.result("bad_order", "That order is not one of ours."), 400)
    ctx = context(request)
    try:
        reply = await ctx.payments.charge(token, item.amount, item.currency, item.title, order_id)
    except ChargeRefused as exc:
        return html(request, pages.result("refused", exc.message), 402)
    except httpx.HTTPError:
        message = "The payment service could not be reached; nothing was charged."
        return html(request, pages.result("unavailable", message), 502)
    ctx.charges.append(
        {"order_id": order_id, "token": token, **reply.model_dump(include={"id", "status"})}
    )
    message = STATUS_MESSAGES.get(reply.status) or reply.failure_message or "Payment failed."
    status_code = 200 if reply.status in ("succeeded", "pending") else 402
    return html(request, pages.result(reply.status, message, reply.id), status_code)


async def received(request: Request) -> Response:
    """Every request the shop received (this one excluded), for tests and the demo."""
    return JSONResponse({"data": [r.as_json() for r in context(request).requests.all()]})


async def charges(request: Request) -> Response:
    """The charges the shop made: order, token, charge id and status."""
    return JSONResponse({"data": context(request).charges})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "service": "merchant_demo"})


def create_app(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """The shop. `transport` replaces the network under its client of the edge (tests)."""
    log = RequestLog(settings.record_limit)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Context]]:
        async with httpx.AsyncClient(
            base_url=settings.edge_url, transport=transport, timeout=30.0
        ) as client:
            yield {
                "shop": Context(
                    settings=settings,
                    csp=content_security_policy(settings),
                    requests=log,
                    bundle=Bundle(client, settings.js_url),
                    payments=Payments(client, settings.api_url, settings.sk_test),
                )
            }

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/checkout/form", checkout_form, methods=["GET"]),
            Route("/checkout/hosted", checkout_hosted, methods=["GET"]),
            Route("/charge", charge, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/_demo/requests", received, methods=["GET"]),
            Route("/_demo/charges", charges, methods=["GET"]),
            Mount("/static", StaticFiles(directory=Path(__file__).parent / "static")),
        ],
        middleware=[Middleware(RecordRequests, log=log)],
        lifespan=lifespan,
    )
    return app
