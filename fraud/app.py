"""The fraud service: scores each charge and signs a clearance when it allows one."""

from __future__ import annotations

import hmac
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fraud.config import Settings
from fraud.contracts import Assessment, AssessmentRequest
from fraud.counters import Counters, open_counters
from fraud.domain.rules import Facts, assess
from fraud.signing import ClearanceSigner, load_signing_key
from strongroom.web import EXCEPTION_HANDLERS, AuthenticationError, health_route, parse_json_object

log = logging.getLogger("fraud")
VELOCITY_WINDOW = 60


def caller_livemode(request: Request, settings: Settings) -> bool:
    """The mode of the calling API stack, from its credential alone."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").encode()
    if hmac.compare_digest(token, settings.live_credential.get_secret_value().encode()):
        return True
    if hmac.compare_digest(token, settings.test_credential.get_secret_value().encode()):
        return False
    raise AuthenticationError("Unknown service credential.", code="invalid_credential")


def create_app(settings: Settings, counters: Counters | None = None) -> Starlette:
    signer = ClearanceSigner(
        load_signing_key(settings.signing_key.get_secret_value()), settings.clearance_ttl_seconds
    )
    store = counters or open_counters(settings.counters_url, settings.counters_prefix)

    async def assessments(request: Request) -> JSONResponse:
        livemode = caller_livemode(request, settings)
        body = AssessmentRequest.model_validate(await parse_json_object(request))
        mode = "live" if livemode else "test"
        velocity_key = f"{mode}:{body.marketplace}:{body.card.fingerprint}"
        # Counting runs in a thread: the Redis client is synchronous.
        count = await run_in_threadpool(store.hit, velocity_key, VELOCITY_WINDOW)
        verdict = assess(
            Facts(
                livemode=livemode,
                bin=body.card.bin,
                last4=body.card.last4,
                amount=body.amount,
                card_charges_last_minute=count,
            )
        )
        clearance = None
        if verdict.decision == "allow":
            clearance = signer.sign(
                {
                    "charge_id": body.charge_id,
                    "card": body.card.id,
                    # The card as scored: the vault checks them against its record.
                    "bin": body.card.bin,
                    "last4": body.card.last4,
                    "fingerprint": body.card.fingerprint,
                    "marketplace": body.marketplace,
                    "amount": body.amount,
                    "currency": body.currency,
                    "livemode": livemode,
                }
            )
        log.info(
            "assessed charge=%s mode=%s score=%d decision=%s reasons=%s",
            body.charge_id,
            mode,
            verdict.score,
            verdict.decision,
            ",".join(verdict.reasons),
        )
        result = Assessment(
            score=verdict.score,
            decision=verdict.decision,
            reasons=list(verdict.reasons),
            clearance=clearance,
        )
        return JSONResponse(result.model_dump(exclude_none=True))

    app = Starlette(
        routes=[health_route(), Route("/v1/assessments", assessments, methods=["POST"])],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.service_name = "fraud"
    return app
