"""Charges: create (fraud, then the vault), capture, cancel, update.

Every status change goes through move_charge, which enforces the state machine of
api.domain.states and records the event in the same transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.clients.fraud import FraudClient, FraudUnavailable
from api.clients.vault import VaultCard, VaultClient, VaultTimeout, VaultUnreachable
from api.contracts import ChargeCapture, ChargeCreate, ChargeUpdate
from api.ids import derived_id, new_id
from api.presenters import charge_json
from api.services.common import move_charge, owned, settled_at_vault, updated_metadata
from api.services.reviews import ReviewService
from api.store.models import Charge, Customer, CustomerCard, utcnow
from strongroom.crashpoints import crash_at
from strongroom.web import NotFound, ServiceError, UpstreamError

log = logging.getLogger("api.charges")


class ChargeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: VaultClient,
        fraud: FraudClient,
        livemode: bool,
        id_secret: bytes,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self._fraud = fraud
        self._livemode = livemode
        self._id_secret = id_secret
        self.reviews = ReviewService(sessions, vault, fraud, livemode)

    def _json(self, charge: Charge) -> dict[str, Any]:
        return charge_json(charge, self._livemode)

    def _load(self, marketplace_id: str, charge_id: str) -> Charge:
        with self.sessions() as session:
            return owned(session, Charge, charge_id, marketplace_id, "id", "charge")

    def create(self, marketplace_id: str, body: ChargeCreate, seed: str | None) -> dict[str, Any]:
        """The charge as it ends up; with a seed (an idempotency key) its id is derived,
        so a retry after a crash resumes this very charge instead of making a second."""
        charge_id = derived_id("ch", self._id_secret, seed) if seed else new_id("ch")
        with self.sessions() as session:
            existing = session.get(Charge, charge_id)
        if existing is not None:
            if existing.status != "pending":
                return self._json(existing)
            # A retry of a request that died: the vault knows this charge id, if it saw it.
            card = self.vault.card(existing.card, marketplace_id)
            return self._execute(existing, card, retrying=True)
        card_id, customer_id = self._card_of(marketplace_id, body)
        card = self.vault.card(card_id, marketplace_id)
        charge = Charge(
            id=charge_id,
            marketplace_id=marketplace_id,
            card=card.id,
            customer_id=customer_id,
            amount=body.amount,
            currency=body.currency,
            description=body.description,
            metadata_=body.metadata,
            status="pending",
            capture=body.capture,
            amount_captured=0,
            amount_refunded=0,
            refund_reserved=0,
            fraud_reasons=[],
            created=utcnow(),
        )
        crash_at("api", "started", "before")
        with self.sessions.begin() as session:
            session.add(charge)
        crash_at("api", "started", "after")
        return self._execute(charge, card)

    def _card_of(self, marketplace_id: str, body: ChargeCreate) -> tuple[str, str | None]:
        token = body.token
        if body.customer is None:
            assert token is not None  # the contract asks for one or the other
            return token, None
        with self.sessions() as session:
            customer = owned(
                session, Customer, body.customer, marketplace_id, "customer", "customer"
            )
            if token is None:
                if customer.default_card is None:
                    raise ServiceError(
                        f"Customer {customer.id} has no source; attach one or pass source.",
                        code="missing",
                        param="customer",
                    )
                return customer.default_card, customer.id
            attached = session.get(CustomerCard, token)
            if attached is None or attached.customer_id != customer.id:
                raise NotFound(f"Customer {customer.id} has no source '{token}'.", param="source")
            return token, customer.id

    def settle(self, charge: Charge, new: str, **changes: Any) -> dict[str, Any]:
        """Move the charge to its outcome; if another request got there first, show that."""
        with self.sessions.begin() as session:
            if move_charge(session, charge, new, self._livemode, **changes):
                crash_at("api", "recorded", "before")  # rolled back: the outcome is lost
                return self._json(charge)
            current = session.get_one(Charge, charge.id)
            return self._json(current)

    def _execute(self, charge: Charge, card: VaultCard, retrying: bool = False) -> dict[str, Any]:
        try:
            assessment = self._fraud.assess(
                {
                    "charge_id": charge.id,
                    "marketplace": charge.marketplace_id,
                    "amount": charge.amount,
                    "currency": charge.currency,
                    "card": {
                        "id": card.id,
                        "brand": card.brand,
                        "bin": card.bin,
                        "last4": card.last4,
                        "fingerprint": card.fingerprint,
                    },
                    **self._fraud_attributes(charge),
                }
            )
        except FraudUnavailable as exc:
            # Fail closed: without an assessment there is no clearance, so nothing is charged.
            log.warning("fraud unavailable for %s: %s", charge.id, exc)
            return self.settle(
                charge,
                "failed",
                failure_code="fraud_unavailable",
                failure_message="The charge could not be screened; nothing was charged.",
            )
        fraud_rule = assessment.rule.model_dump() if assessment.rule else None
        fraud = {
            "fraud_score": assessment.score,
            "fraud_decision": assessment.decision,
            "fraud_reasons": assessment.reasons,
            "fraud_risk_level": assessment.risk_level,
            "fraud_rule": fraud_rule,
        }
        if assessment.decision == "block":
            return self.settle(
                charge,
                "blocked",
                failure_code="fraud_blocked",
                failure_message="The charge was blocked by fraud screening.",
                **fraud,
            )
        if assessment.clearance is None:  # nothing may be authorised: hold it as it is
            return self.settle(charge, "pending_review", **fraud)
        for name, value in fraud.items():
            setattr(charge, name, value)
        crash_at("api", "vault_called", "before")
        try:
            result = self.vault.charge(
                {
                    "charge_id": charge.id,
                    "card": card.id,
                    "marketplace": charge.marketplace_id,
                    "amount": charge.amount,
                    "currency": charge.currency,
                    "clearance": assessment.clearance.model_dump(),
                }
            )
        except VaultUnreachable:
            if retrying:  # an earlier attempt may have been executed: never fail it blind
                raise self._pending(charge) from None
            return self.settle(
                charge,
                "failed",
                failure_code="processing_error",
                failure_message="The card could not be charged; retry later.",
                **fraud,
            )
        except VaultTimeout:
            # The vault may have executed it; its charge id makes a retry safe, so stay pending.
            log.error("vault timed out on %s; charge left pending", charge.id)
            raise self._pending(charge) from None
        except UpstreamError as exc:
            # A 5xx of the vault (network_unavailable: the network answered neither the
            # authorisation nor its reversal) is no outcome: the vault's completer or our
            # reconcile settles it; the merchant's retry replays the same charge id.
            log.error("vault could not finish %s: %s; charge left pending", charge.id, exc.code)
            raise self._pending(charge) from None
        except ServiceError as exc:
            if exc.code == "charge_in_progress":
                raise self._pending(charge) from None  # another request is executing it
            log.error("vault refused %s: %s", charge.id, exc.code)
            return self.settle(
                charge, "failed", failure_code=exc.code, failure_message=exc.message, **fraud
            )
        crash_at("api", "vault_called", "after")
        if result.status != "succeeded":
            return self.settle(
                charge,
                "failed",
                failure_code=result.failure_code,
                failure_message=result.failure_message,
                **fraud,
            )
        authorised = {**fraud, "authorization_code": result.authorization_code}
        if assessment.decision == "review":  # authorised, held until a person decides
            return self.reviews.hold(charge, assessment.decided_by, fraud_rule, **authorised)
        if not charge.capture:
            return self.settle(charge, "authorized", **authorised)
        return self.capture_authorised(charge, authorised)

    def _fraud_attributes(self, charge: Charge) -> dict[str, Any]:
        """What fraud rules may read beyond the card: the customer, its email, metadata."""
        attributes: dict[str, Any] = {"metadata": dict(charge.metadata_)}
        if charge.customer_id is not None:
            attributes["customer"] = charge.customer_id
            with self.sessions() as session:
                customer = session.get(Customer, charge.customer_id)
            if customer is not None and customer.email:
                attributes["email"] = customer.email
        return attributes

    @staticmethod
    def _pending(charge: Charge) -> ServiceError:
        return ServiceError(
            f"The charge {charge.id} is pending: its outcome is not known yet; retry.",
            code="charge_pending",
            type="api_error",
            status_code=502,
        )

    def capture_authorised(self, charge: Charge, authorised: dict[str, Any]) -> dict[str, Any]:
        """Capture at once what was just authorised; if that fails it stays authorized."""
        try:
            settled = self.vault.capture(charge.id, charge.marketplace_id, charge.amount)
            crash_at("api", "captured", "after")
        except (VaultUnreachable, VaultTimeout, ServiceError) as exc:
            log.error("capture of %s failed (%s); left authorized", charge.id, type(exc).__name__)
            return self.settle(charge, "authorized", **authorised)
        if settled.status != "succeeded":
            return self.settle(charge, "authorized", **authorised)
        return self.settle(charge, "succeeded", amount_captured=charge.amount, **authorised)

    def capture(self, marketplace_id: str, charge_id: str, body: ChargeCapture) -> dict[str, Any]:
        charge = self._load(marketplace_id, charge_id)
        if charge.status == "succeeded":
            raise ServiceError(
                f"Charge {charge.id} has already been captured.",
                code="charge_already_captured",
            )
        if charge.status != "authorized":
            raise ServiceError(
                f"A {charge.status} charge cannot be captured.",
                code="charge_not_capturable",
            )
        amount = body.amount or charge.amount
        if amount > charge.amount:
            raise ServiceError(
                f"The capture ({amount}) exceeds the authorised amount ({charge.amount}).",
                code="amount_too_large",
                param="amount",
            )
        settled_at_vault(
            lambda: self.vault.capture(charge.id, marketplace_id, amount),
            unconfirmed="The capture could not be confirmed; retry it (it is executed once).",
            refused="The capture was declined.",
            code="capture_declined",
        )
        return self.settle(charge, "succeeded", amount_captured=amount)

    def cancel(self, marketplace_id: str, charge_id: str) -> dict[str, Any]:
        charge = self._load(marketplace_id, charge_id)
        if charge.status == "pending_review":
            if charge.review_id is None:  # held before reviews authorised: nothing to void
                return self.settle(charge, "canceled")
            self.reviews.reject(marketplace_id, charge.review_id, why="canceled")
            return self._json(self._load(marketplace_id, charge_id))
        if charge.status != "authorized":
            raise ServiceError(
                f"A {charge.status} charge cannot be canceled"
                + ("; refund it instead." if charge.status == "succeeded" else "."),
                code="charge_not_cancelable",
            )
        settled_at_vault(
            lambda: self.vault.void(charge.id, marketplace_id),
            unconfirmed="The cancelation could not be confirmed; retry it (it is executed once).",
            refused="The card network refused to release the authorisation.",
            code="void_declined",
        )
        return self.settle(charge, "canceled")

    def update(self, marketplace_id: str, charge_id: str, body: ChargeUpdate) -> dict[str, Any]:
        with self.sessions.begin() as session:
            charge = owned(session, Charge, charge_id, marketplace_id, "id", "charge")
            given = body.model_fields_set
            if "description" in given:  # given empty (or null): unset, as in Stripe
                charge.description = body.description
            charge.metadata_ = updated_metadata(dict(charge.metadata_), body.metadata, given)
            return self._json(charge)
