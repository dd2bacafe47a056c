"""Creating a charge: card lookup, fraud assessment, then execution by the vault."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api import idempotency
from api.clients.fraud import FraudClient, FraudUnavailable
from api.clients.vault import VaultClient, VaultTimeout, VaultUnreachable
from api.contracts import ChargeCreate
from api.events import record_event
from api.ids import new_id
from api.presenters import charge_json
from api.store.models import Charge
from strongroom.web import ServiceError, error_body

log = logging.getLogger("api.charging")


class ChargeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: VaultClient,
        fraud: FraudClient,
        livemode: bool,
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._fraud = fraud
        self._livemode = livemode

    def create_idempotent(
        self, marketplace_id: str, body: ChargeCreate, key: str | None
    ) -> idempotency.Stored:
        if key is None:
            return self._respond(marketplace_id, body)
        idempotency.check_key(key)
        digest = idempotency.request_hash("/v1/charges", body.model_dump())
        stored = idempotency.begin(self._sessions, marketplace_id, key, digest)
        if stored is not None:
            return stored
        result = self._respond(marketplace_id, body)
        idempotency.finish(self._sessions, marketplace_id, key, result)
        return result

    def _respond(self, marketplace_id: str, body: ChargeCreate) -> idempotency.Stored:
        """The response to store and send, errors included (as a replay must repeat them)."""
        try:
            return idempotency.Stored(201, self.create(marketplace_id, body))
        except ServiceError as exc:
            return idempotency.Stored(
                exc.status_code, error_body(exc.type, exc.code, exc.message, exc.param)
            )
        except Exception:
            log.exception("charge creation failed")
            return idempotency.Stored(
                500, error_body("api_error", "internal_error", "An internal error occurred.")
            )

    def create(self, marketplace_id: str, body: ChargeCreate) -> dict[str, Any]:
        card = self._vault.card(body.card, marketplace_id)
        charge = Charge(
            id=new_id("ch"),
            marketplace_id=marketplace_id,
            card=card.id,
            amount=body.amount,
            currency=body.currency,
            description=body.description,
            metadata_=body.metadata,
            status="pending",
            fraud_reasons=[],
        )
        with self._sessions.begin() as session:
            session.add(charge)
        try:
            assessment = self._fraud.assess(
                {
                    "charge_id": charge.id,
                    "marketplace": marketplace_id,
                    "amount": body.amount,
                    "currency": body.currency,
                    "card": {
                        "id": card.id,
                        "brand": card.brand,
                        "bin": card.bin,
                        "last4": card.last4,
                        "fingerprint": card.fingerprint,
                    },
                }
            )
        except FraudUnavailable as exc:
            # Fail closed: without an assessment there is no clearance, so nothing is charged.
            log.warning("fraud unavailable for %s: %s", charge.id, exc)
            return self._settle(
                charge,
                "failed",
                "fraud_unavailable",
                "The charge could not be screened; nothing was charged. Retry later.",
            )
        charge.fraud_score = assessment.score
        charge.fraud_decision = assessment.decision
        charge.fraud_reasons = assessment.reasons
        if assessment.decision == "block":
            return self._settle(
                charge, "blocked", "fraud_blocked", "The charge was blocked by fraud screening."
            )
        if assessment.decision == "review" or assessment.clearance is None:
            return self._settle(charge, "pending_review", None, None)
        try:
            result = self._vault.charge(
                {
                    "charge_id": charge.id,
                    "card": card.id,
                    "marketplace": marketplace_id,
                    "amount": body.amount,
                    "currency": body.currency,
                    "clearance": assessment.clearance.model_dump(),
                }
            )
        except VaultUnreachable:
            return self._settle(
                charge, "failed", "processing_error", "The card could not be charged; retry later."
            )
        except VaultTimeout:
            # The vault may have executed it; its charge id makes a retry safe, so stay pending.
            log.error("vault timed out on %s; charge left pending", charge.id)
            raise ServiceError(
                f"The charge {charge.id} is pending: the vault did not answer in time.",
                code="charge_pending",
                type="api_error",
                status_code=502,
            ) from None
        except ServiceError as exc:
            log.error("vault refused %s: %s", charge.id, exc.code)
            return self._settle(charge, "failed", exc.code, exc.message)
        charge.authorization_code = result.authorization_code
        if result.status == "succeeded":
            return self._settle(charge, "succeeded", None, None)
        return self._settle(charge, "failed", result.failure_code, result.failure_message)

    def _settle(
        self, charge: Charge, status: str, code: str | None, message: str | None
    ) -> dict[str, Any]:
        """Move a pending charge to its outcome and record the transition as an event."""
        charge.status = status
        charge.failure_code = code
        charge.failure_message = message
        with self._sessions.begin() as session:
            session.merge(charge)
            payload = charge_json(charge, self._livemode)
            record_event(session, charge.marketplace_id, f"charge.{status}", payload)
        return payload
