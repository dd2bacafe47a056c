"""Charges: create (fraud, then the vault), capture, cancel, update.

A charge is stored once fraud has answered: nothing before that is kept, and nothing
before it can move money (the vault is called only after). A request that dies first
leaves no charge; the merchant's retry under the same Idempotency-Key derives the same
charge id and asks fraud again, which counts a charge id once and answers it as before.
From there it passes named recovery points, each reached in one transaction:

  assessed           stored pending with fraud's answer and its clearance: the vault may
                     have it (a captured charge is sent as one authorise-and-capture)
  vault_called       the vault authorised it and its capture was asked apart (a charge
                     the vault authorised without capturing, capture=true only)
  recorded           its outcome stored: nothing left to do
  capture_requested  an authorised charge whose capture was asked of the vault
  void_requested     an authorised charge whose release was asked of the vault

(`started`, stored before fraud was asked, is no longer reached; a charge an earlier
version left there is finished as one at `assessed` without a clearance.)

A request that dies leaves the charge at its last point. The merchant's retry with the
same Idempotency-Key (resume) or the completer (api.charges.completer) finishes it from
the vault's own record, or sends it again under the same charge id, which the vault
executes once and replays after. Every move is a compare-and-set on the charge's
revision (api.charges.store), so a retry and the completer never both act on one
step.

The charge path reads and moves its charge with Core statements built once
(api.charges.store): a single statement in autocommit, an outcome and its event in
one transaction (on PostgreSQL one statement) that also keeps the answer of the request's
Idempotency-Key when its route lets it (api.idempotency.Carried). Every method answers
the charge as the contract shows it (api.contracts.Charge), built once per answer.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.charges import store as rows
from api.charges.moves import (
    RECORDED,
    in_progress,
    request_mark,
    settled_at_vault,
    settled_by,
    settled_under,
)
from api.charges.reads import ChargeReads
from api.clients.fraud import FraudAssessment, FraudClearance, FraudClient, FraudUnavailable
from api.clients.vault import (
    VaultCard,
    VaultChargeState,
    VaultClient,
    VaultTimeout,
    VaultUnreachable,
)
from api.contracts import Charge as ChargeObject
from api.contracts import ChargeCapture, ChargeCreate, ChargeUpdate
from api.domain.metadata import new_metadata, updated_metadata
from api.events import record
from api.idempotency import CARRIED, Carried, keep_on
from api.ids import derived_id, new_id, well_formed
from api.presenters import as_charge
from api.reviews.service import ReviewService
from api.store.db import statement
from api.store.models import Charge, Customer, CustomerCard, utcnow
from api.store.queries import owned
from servicekit import NotFound, ServiceError, UpstreamError
from servicekit.crashpoints import crash_at

log = logging.getLogger("api.charges")

STARTED, ASSESSED, VAULT_CALLED = "started", "assessed", "vault_called"
CAPTURE_REQUESTED, VOID_REQUESTED = "capture_requested", "void_requested"

# What fraud rules may read of a charge's customer.
_CUSTOMER_EMAIL = select(Customer.email).where(Customer.id == bindparam("customer_id"))


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
        self._engine: Engine = sessions.kw["bind"]
        self.vault = vault
        self._fraud = fraud
        self._livemode = livemode
        self._id_secret = id_secret
        self.reviews = ReviewService(sessions, vault, fraud, livemode)
        self.reads = ChargeReads(sessions, vault, livemode)

    def _shown(self, charge: Charge) -> ChargeObject:
        return as_charge(charge, self._livemode)

    def _load(self, marketplace_id: str, charge_id: str) -> Charge:
        """The marketplace's own charge, or 404: another's (or another mode's) does not exist."""
        charge = self._get(charge_id) if well_formed(charge_id) else None
        if charge is None or charge.marketplace_id != marketplace_id:
            raise NotFound(f"No such charge: '{charge_id}'.", param="id")
        return charge

    def retrieve(self, marketplace_id: str, charge_id: str) -> ChargeObject:
        """The marketplace's own charge as the contract shows it, or 404."""
        return self._shown(self._load(marketplace_id, charge_id))

    def _get(self, charge_id: str) -> Charge | None:
        with statement(self._engine) as connection:
            return rows.load(connection, charge_id)

    def create(
        self, marketplace_id: str, body: ChargeCreate, seed: str | None, first_use: bool = False
    ) -> ChargeObject:
        """The charge as it ends up; with a seed (an idempotency key) its id is derived,
        so a retry after a crash resumes this very charge instead of making a second. On
        the key's `first_use` nothing can be stored under that id yet: it is not looked
        for (were it there, storing it again would find it, below)."""
        if seed:
            charge_id = derived_id("ch", self._id_secret, seed)
            existing = None if first_use else self._get(charge_id)
            if existing is not None:
                return self._shown_or_resumed(existing)
        else:  # a new random id: nothing can be stored under it yet
            charge_id = new_id("ch")
        card_id, customer_id = self._card_of(marketplace_id, body)
        # A card's facts never change, and the vault checks the card again as it charges
        # (the clearance names its facts): a known card is not read from the vault again.
        card = self.vault.card(card_id, marketplace_id, cached=True)
        now = utcnow()
        charge = Charge(
            id=charge_id,
            marketplace_id=marketplace_id,
            card=card.id,
            customer_id=customer_id,
            amount=body.amount,
            currency=body.currency,
            description=body.description,
            metadata_=new_metadata(body.metadata),
            status="pending",
            capture=body.capture,
            amount_captured=0,
            amount_refunded=0,
            refund_reserved=0,
            fraud_reasons=[],
            created=now,
            recovery_point=ASSESSED,
            recovery_at=now,
            revision=0,
        )
        assessment = self._assess(charge, card)
        if assessment is not None:
            for name, value in _fraud_fields(assessment).items():
                setattr(charge, name, value)
            charge.recovery = _kept(assessment)
        crash_at("api", "assessed", "before")  # fraud answered, nothing stored
        try:
            with statement(self._engine) as connection:
                rows.store(connection, charge)
        except IntegrityError:
            # A retry that took the key over from this request stored it first.
            existing = self._get(charge_id)
            if existing is None:
                raise
            return self._shown_or_resumed(existing)
        return self._decided(charge, assessment, resumed=False)

    def _shown_or_resumed(self, charge: Charge) -> ChargeObject:
        if charge.status != "pending":
            return self._shown(charge)
        return self.resume(charge)

    def resume(self, charge: Charge, give_up: bool = False) -> ChargeObject:
        """Finish a charge an earlier request left pending: from the vault's record if the
        vault has one, else by sending it again under its id (or, with `give_up`, failing
        it once no clearance of it can execute any more). While the outcome cannot be
        known yet, the retryable 502 `charge_pending`."""
        try:
            state = self.vault.state(charge.id, charge.marketplace_id)
        except (VaultUnreachable, VaultTimeout, ServiceError):
            raise self._pending(charge) from None
        if state is not None:
            return self._adopt(charge, state)
        card = self.vault.card(charge.card, charge.marketplace_id, cached=True)
        return self._drive(charge, card, resumed=True, give_up=give_up)

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

    def settle(self, charge: Charge, new: str, **changes: Any) -> ChargeObject:
        """Move the charge to its outcome, with its event, in one transaction; if another
        request got there first, show what it recorded (or, while that one has not
        finished, answer that it is pending, or in progress: never the charge half-way,
        which would read as a capture that did not happen)."""
        crash_at("api", "recorded", "before")  # nothing stored yet: the outcome is lost
        # The request's Idempotency-Key, if its route lets the outcome carry the key's finish.
        carried = CARRIED.get()
        if self._engine.dialect.name == "postgresql":
            with statement(self._engine) as connection:  # one statement, atomic
                recorded = rows.move_recorded(
                    connection, charge, new, self._shown, carried, **changes
                )
                if recorded is not None:
                    return recorded
                current = rows.load(connection, charge.id)
        else:
            recorded, current = self._recorded(charge, new, carried, changes)
            if recorded is not None:
                return recorded
        assert current is not None  # a stored charge is never deleted
        if current.status == "pending":
            raise self._pending(current)
        if current.recovery_point != RECORDED:  # another request's capture or void, unrecorded
            raise in_progress(current)
        return self._shown(current)

    def _recorded(
        self, charge: Charge, new: str, carried: Carried | None, changes: dict[str, Any]
    ) -> tuple[ChargeObject | None, Charge | None]:
        """SQLite: the move, its event and the key's finish `carried` in one transaction;
        the charge shown, or (None, the charge as another request or the completer left it)."""
        kept = None
        with self._engine.begin() as connection:
            event = rows.move(connection, charge, new, **changes)
            if event is None:
                return None, rows.load(connection, charge.id)
            shown = self._shown(charge)
            body = shown.shown()
            record(connection, charge.marketplace_id, event, body)
            answer = None if carried is None else carried.take(body)
            if carried is not None and answer is not None:
                kept = answer if keep_on(connection, carried.claim, answer) else None
        if carried is not None:  # committed: the key keeps its answer
            carried.kept = kept
        return shown, None

    def _advance(
        self, charge: Charge, point: str, recovery: dict[str, Any] | None, **changes: Any
    ) -> None:
        """Move a pending charge to its next recovery point (one statement), or stop:
        another request (or the completer) moved it meanwhile, and finishes it."""
        with statement(self._engine) as connection:
            if not rows.advance(connection, charge, point, recovery, **changes):
                raise self._pending(charge)

    def _drive(
        self, charge: Charge, card: VaultCard, resumed: bool = False, give_up: bool = False
    ) -> ChargeObject:
        """Resume a stored pending charge: send it under its kept clearance if that still
        serves, else assess it again, then have the vault execute it and record."""
        recovery = charge.recovery or {}
        kept = recovery.get("clearance") if charge.recovery_point == ASSESSED else None
        if kept is not None:
            # A new revision first: a request still sending under this clearance can then
            # no longer record the charge failed while this send executes it.
            self._advance(charge, ASSESSED, recovery)
            sent = self._send(charge, FraudClearance.model_validate(kept), resumed, fresh=False)
            if sent is not None:
                return sent
            # The vault refused that clearance, so it can never execute: ask for another.
        if give_up:  # no clearance of it was ever sent, or the one sent was refused
            return self.settle(
                charge,
                "failed",
                failure_code="processing_error",
                failure_message="The charge was not executed in time; nothing was charged.",
            )
        assessment = self._assess(charge, card)
        if assessment is not None:
            self._advance(charge, ASSESSED, _kept(assessment), **_fraud_fields(assessment))
        return self._decided(charge, assessment, resumed)

    def _assess(self, charge: Charge, card: VaultCard) -> FraudAssessment | None:
        """Fraud's answer for the charge; None if fraud could not be asked."""
        try:
            return self._fraud.assess(
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
            log.warning("fraud unavailable for %s: %s", charge.id, exc)
            return None

    def _decided(
        self, charge: Charge, assessment: FraudAssessment | None, resumed: bool
    ) -> ChargeObject:
        """A stored charge at `assessed` with fraud's answer: fail, block or hold it, or
        have the vault execute it under the answer's clearance."""
        if assessment is None:
            # Fail closed: without an assessment there is no clearance, so nothing is charged
            # (and no earlier clearance of this charge can execute: none was, or it was refused).
            return self.settle(
                charge,
                "failed",
                failure_code="fraud_unavailable",
                failure_message="The charge could not be screened; nothing was charged.",
            )
        if assessment.decision == "block":
            return self.settle(
                charge,
                "blocked",
                failure_code="fraud_blocked",
                failure_message="The charge was blocked by fraud screening.",
            )
        if assessment.clearance is None:  # nothing may be authorised: hold it as it is
            return self.settle(charge, "pending_review")
        crash_at("api", "vault_called", "before")
        sent = self._send(charge, assessment.clearance, resumed, fresh=True)
        assert sent is not None  # a fresh clearance refused is the charge's failure
        return sent

    def _send(
        self, charge: Charge, clearance: FraudClearance, resumed: bool, fresh: bool
    ) -> ChargeObject | None:
        """Have the vault execute the charge (or replay it); None if it refused a kept
        (not `fresh`) clearance, which can then never execute."""
        body = {
            "charge_id": charge.id,
            "card": charge.card,
            "marketplace": charge.marketplace_id,
            "amount": charge.amount,
            "currency": charge.currency,
            "clearance": clearance.model_dump(),
        }
        if charge.capture and charge.fraud_decision != "review":
            # Authorised and captured in one vault call and one network message; a charge
            # held for review is only authorised (its capture waits for a person).
            body["capture"] = True
        try:
            result = self.vault.charge(body)
        except VaultUnreachable:
            if resumed:  # an earlier attempt may have been executed: never fail it blind
                raise self._pending(charge) from None
            return self.settle(
                charge,
                "failed",
                failure_code="processing_error",
                failure_message="The card could not be charged; retry later.",
            )
        except VaultTimeout:
            # The vault may have executed it; its charge id makes a retry safe, so stay pending.
            log.error("vault timed out on %s; charge left pending", charge.id)
            raise self._pending(charge) from None
        except UpstreamError as exc:
            # A 5xx of the vault (network_unavailable: the network answered neither the
            # authorisation nor its reversal) is no outcome: the vault finishes it, and the
            # merchant's retry or our completer reads it then.
            log.error("vault could not finish %s: %s; charge left pending", charge.id, exc.code)
            raise self._pending(charge) from None
        except ServiceError as exc:
            if exc.code == "charge_in_progress":
                raise self._pending(charge) from None  # another request is executing it
            if exc.code == "clearance_invalid" and not fresh:
                return None
            log.error("vault refused %s: %s", charge.id, exc.code)
            return self.settle(charge, "failed", failure_code=exc.code, failure_message=exc.message)
        crash_at("api", "vault_called", "after")
        if result.status != "succeeded":
            return self.settle(
                charge,
                "failed",
                failure_code=result.failure_code,
                failure_message=result.failure_message,
            )
        authorised = {"authorization_code": result.authorization_code}
        if result.amount_captured is not None:  # captured with its authorisation
            settled = {"action": "capture", "status": "succeeded", "amount": result.amount_captured}
            return self._authorised(charge, authorised, settled)
        return self._authorised(charge, authorised, None)

    def _adopt(self, charge: Charge, state: VaultChargeState) -> ChargeObject:
        """Finish the charge as the vault's record has it."""
        if state.status == "processing":  # the vault is executing it, or will finish it
            raise self._pending(charge)
        if state.status == "failed":
            return self.settle(charge, "failed", failure_code=state.failure_code)
        authorised = {"authorization_code": state.authorization_code}
        return self._authorised(charge, authorised, state.settlement)

    def _authorised(
        self, charge: Charge, authorised: dict[str, Any], settlement: dict[str, Any] | None
    ) -> ChargeObject:
        """The vault authorised it: hold it for review, keep it authorised, or capture it."""
        if charge.fraud_decision == "review":  # authorised, held until a person decides
            decided_by = (charge.recovery or {}).get("decided_by", "score")
            return self.reviews.hold(charge, decided_by, charge.fraud_rule, **authorised)
        if not charge.capture:
            return self.settle(charge, "authorized", **authorised)
        return self.capture_authorised(charge, authorised, settlement)

    def _fraud_attributes(self, charge: Charge) -> dict[str, Any]:
        """What fraud rules may read beyond the card: the customer, its email, metadata."""
        attributes: dict[str, Any] = {"metadata": dict(charge.metadata_)}
        if charge.customer_id is not None:
            attributes["customer"] = charge.customer_id
            with statement(self._engine) as connection:
                email = connection.execute(
                    _CUSTOMER_EMAIL, {"customer_id": charge.customer_id}
                ).scalar()
            if email:
                attributes["email"] = email
        return attributes

    @staticmethod
    def _pending(charge: Charge) -> ServiceError:
        return ServiceError(
            f"The charge {charge.id} is pending: its outcome is not known yet; retry.",
            code="charge_pending",
            type="api_error",
            status_code=502,
        )

    def capture_authorised(
        self, charge: Charge, authorised: dict[str, Any], settlement: dict[str, Any] | None
    ) -> ChargeObject:
        """Capture what was just authorised (`settlement`: what the vault has done so far, if
        known). Only the network's refusal leaves it authorized; while the capture's fate is
        unknown the charge stays pending, at `vault_called`."""
        done = settlement or {}
        if done.get("status") == "processing":
            raise self._pending(charge)
        if (done.get("action"), done.get("status")) == ("capture", "succeeded"):
            amount = int(done.get("amount", charge.amount))
            return self.settle(charge, "succeeded", amount_captured=amount, **authorised)
        if charge.recovery_point != VAULT_CALLED:
            self._advance(charge, VAULT_CALLED, None, **authorised)
        try:
            settled = self.vault.capture(charge.id, charge.marketplace_id, charge.amount)
        except (VaultUnreachable, VaultTimeout, ServiceError) as exc:
            log.error("capture of %s unanswered (%s); left pending", charge.id, type(exc).__name__)
            raise self._pending(charge) from None
        if settled.status == "succeeded":
            return self.settle(charge, "succeeded", amount_captured=settled.amount, **authorised)
        if settled.failure_code == "processing_error":  # the network was silent: not refused
            raise self._pending(charge)
        return self.settle(charge, "authorized", **authorised)

    def capture(
        self, marketplace_id: str, charge_id: str, body: ChargeCapture, seed: str | None = None
    ) -> ChargeObject:
        """Capture an authorised charge; `seed`, the Idempotency-Key's claim, is kept with
        the request, so that its retry finds the capture it asked for (recorded, maybe by
        the completer, after its answer was lost) and gets the charge, as Stripe answers."""
        charge = self._load(marketplace_id, charge_id)
        mark = request_mark(seed)
        amount = body.amount or charge.amount
        if settled_under(charge, "capture", mark, amount):
            return self._shown(charge)
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
        if amount > charge.amount:
            raise ServiceError(
                f"The capture ({amount}) exceeds the authorised amount ({charge.amount}).",
                code="amount_too_large",
                param="amount",
            )
        return self._capture(charge, amount, mark)

    def _capture(self, charge: Charge, amount: int, key: str | None = None) -> ChargeObject:
        settled = settled_at_vault(
            self.sessions,
            charge,
            "capture",
            amount,
            lambda: self.vault.capture(charge.id, charge.marketplace_id, amount),
            key=key,
            unconfirmed="The capture could not be confirmed; retry it (it is executed once).",
            refused="The capture was declined.",
            code="capture_declined",
        )
        crash_at("api", "captured", "after")  # the vault captured; the API recorded nothing
        return self.settle(
            charge,
            "succeeded",
            amount_captured=settled.amount,
            recovery=settled_by(charge, "capture"),
        )

    def cancel(self, marketplace_id: str, charge_id: str, seed: str | None = None) -> ChargeObject:
        """Release an authorisation (or give up a held charge); with `seed`, as `capture`."""
        charge = self._load(marketplace_id, charge_id)
        mark = request_mark(seed)
        if settled_under(charge, "void", mark, 0):
            return self._shown(charge)
        if charge.status == "pending_review":
            if charge.review_id is None:  # held before reviews authorised: nothing to void
                return self.settle(charge, "canceled")
            self.reviews.reject(marketplace_id, charge.review_id, why="canceled", key=mark)
            return self._shown(self._load(marketplace_id, charge_id))
        if charge.status != "authorized":
            raise ServiceError(
                f"A {charge.status} charge cannot be canceled"
                + ("; refund it instead." if charge.status == "succeeded" else "."),
                code="charge_not_cancelable",
            )
        return self._void(charge, mark)

    def _void(self, charge: Charge, key: str | None = None) -> ChargeObject:
        settled_at_vault(
            self.sessions,
            charge,
            "void",
            0,
            lambda: self.vault.void(charge.id, charge.marketplace_id),
            key=key,
            unconfirmed="The cancelation could not be confirmed; retry it (it is executed once).",
            refused="The card network refused to release the authorisation.",
            code="void_declined",
        )
        crash_at("api", "voided", "after")  # the vault voided it; the API recorded nothing
        return self.settle(charge, "canceled", recovery=settled_by(charge, "void"))

    def finish_settling(self, charge: Charge) -> None:
        """Ask the vault again for the capture or void a request asked for and did not see
        through (the vault executes it once, and replays it after); a review's is closed
        as the review would have been."""
        intent = charge.recovery or {}
        capture = charge.recovery_point == CAPTURE_REQUESTED
        why = intent.get("why")
        if charge.status == "pending_review" and charge.review_id is not None:
            if capture:
                self.reviews.approve(charge.marketplace_id, charge.review_id, why=why or "approved")
            else:
                self.reviews.reject(charge.marketplace_id, charge.review_id, why=why or "rejected")
        elif capture:
            self._capture(charge, int(intent.get("amount") or charge.amount))
        else:
            self._void(charge)

    def update(self, marketplace_id: str, charge_id: str, body: ChargeUpdate) -> ChargeObject:
        with self.sessions.begin() as session:
            charge = owned(session, Charge, charge_id, marketplace_id, "id", "charge")
            given = body.model_fields_set
            if "description" in given:  # given empty (or null): unset, as in Stripe
                charge.description = body.description
            charge.metadata_ = updated_metadata(dict(charge.metadata_), body.metadata, given)
            return self._shown(charge)


def _fraud_fields(assessment: FraudAssessment) -> dict[str, Any]:
    """What the charge keeps of fraud's answer."""
    return {
        "fraud_score": assessment.score,
        "fraud_decision": assessment.decision,
        "fraud_reasons": assessment.reasons,
        "fraud_risk_level": assessment.risk_level,
        "fraud_rule": assessment.rule.model_dump() if assessment.rule else None,
    }


def _kept(assessment: FraudAssessment) -> dict[str, Any] | None:
    """What resuming the charge needs of fraud's answer: its clearance, if it gave one."""
    if assessment.clearance is None:
        return None
    return {"clearance": assessment.clearance.model_dump(), "decided_by": assessment.decided_by}
