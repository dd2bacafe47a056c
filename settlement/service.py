"""Settling an authorised charge: one capture or void, then refunds within the capture.

No clearance is asked for, but one: each step moves at most what the charge's clearance
allowed (a capture ≤ the authorisation, refunds ≤ the capture, back to the same card),
except the capture of a charge fraud held for review, which needs fraud's approval (a
fresh `allow` clearance for that charge, settlement.approvals.verify_approval). The card
is never decrypted: the network knows the authorisation by its reference, the charge id.

Each step is claimed `processing` under this process's lease (vault.store.claims), sent
to the network under its idempotency key (the charge id; a refund's id), and its answer
recorded with its audit entry in one transaction. A step whose answer was lost, or whose
process died (settlement_answered, refund_answered), is finished by the completer, which
sends the same message again and records the network's (first) answer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from settlement import store
from settlement.approvals import Approvals
from settlement.contracts import (
    ChargeState,
    RefundCreate,
    RefundResult,
    RefundState,
    RefundStatus,
    Settlement,
    SettlementResult,
)
from settlement.ports import Answer, Network
from settlement.reads import ReadAudit
from vault.audit import AuditLog
from vault.contracts import Clearance
from vault.crashpoints import crash_at
from vault.domain.states import finished
from vault.errors import ClearanceRefused, Conflict, NotFound, VaultError
from vault.store.claims import Claims
from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord

log = logging.getLogger("vault.settlement")


@dataclass(frozen=True, slots=True)
class _Settled:
    """Test mode's answer: a settled test charge always settles."""

    approved: bool = True
    failure_code: str | None = None


def _retryable(settled: SettlementRecord) -> bool:
    """A settlement that surely never reached the network may be asked again, as capture
    or void (one whose answer was lost stays processing until the network answers)."""
    return settled.status == "failed" and settled.failure_code == "processing_error"


def _actor(livemode: bool) -> str:
    return f"service:{'live' if livemode else 'test'}"


def _settlement_message(charge: ChargeRecord, action: str, amount: int) -> dict[str, object]:
    body: dict[str, object] = {"reference": charge.charge_id, "merchant": charge.marketplace_id}
    if action == "capture":
        body |= {"amount": amount, "currency": charge.currency}
    return body


def _refund_message(charge: ChargeRecord, refund: RefundRecord) -> dict[str, object]:
    return {
        "reference": refund.refund_id,
        "authorization": charge.charge_id,
        "merchant": charge.marketplace_id,
        "amount": refund.amount,
        "currency": charge.currency,
    }


def _settlement_result(charge: ChargeRecord, settled: SettlementRecord) -> SettlementResult:
    return SettlementResult(
        charge_id=charge.charge_id,
        action=settled.action,
        status=finished(settled.status),
        amount=settled.amount,
        failure_code=settled.failure_code,
        livemode=charge.livemode,
    )


def _refund_result(refund: RefundRecord, livemode: bool) -> RefundResult:
    return RefundResult(
        refund_id=refund.refund_id,
        charge_id=refund.charge_id,
        status=finished(refund.status),
        amount=refund.amount,
        failure_code=refund.failure_code,
        livemode=livemode,
    )


class SettlementService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        audit: AuditLog,
        network: Network,
        claims: Claims,
        approvals: Approvals,
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._network = network
        self._claims = claims
        self._approvals = approvals
        self._reads = ReadAudit(audit)

    def _charge(
        self, action: str, livemode: bool, charge_id: str, marketplace: str
    ) -> ChargeRecord:
        """The charge of this marketplace and mode, or 404 (audited): others' do not exist."""
        with self._sessions() as session:
            charge = store.find_charge(session, charge_id)
        if charge is None or charge.marketplace_id != marketplace or charge.livemode != livemode:
            self._audit.append(_actor(livemode), action, None, "refused:not_found")
            raise NotFound("No such charge.", "charge_id")
        return charge

    def _refuse(self, livemode: bool, action: str, token: str, error: VaultError) -> VaultError:
        self._audit.append(_actor(livemode), action, token, f"refused:{error.code}")
        return error

    def state(self, livemode: bool, charge_id: str, marketplace: str) -> ChargeState:
        """The charge, its capture or void and its refunds, each as the vault recorded it."""
        charge = self._charge("read_charge", livemode, charge_id, marketplace)
        with self._sessions() as session:
            settled = store.find_settlement(session, charge_id)
            refunds = store.refunds_of(session, charge_id)
        # A completer polls this: one entry per reader and charge per minute (ReadAudit).
        self._reads.append(_actor(livemode), "read_charge", charge.token, charge_id)
        return ChargeState(
            charge_id=charge.charge_id,
            status=charge.status,
            amount=charge.amount,
            currency=charge.currency,
            failure_code=charge.failure_code,
            authorization_code=charge.authorization_code,
            settlement=None
            if settled is None
            else Settlement(
                action=settled.action,
                status=settled.status,
                amount=settled.amount,
                failure_code=settled.failure_code,
            ),
            amount_refunded=sum(r.amount for r in refunds if r.status == "succeeded"),
            refunds=[
                RefundState(
                    refund_id=r.refund_id,
                    status=r.status,
                    amount=r.amount,
                    failure_code=r.failure_code,
                )
                for r in refunds
            ],
            livemode=charge.livemode,
        )

    def refund_state(self, livemode: bool, refund_id: str, marketplace: str) -> RefundStatus:
        """A refund as the vault recorded it; 404 (audited) for another marketplace's or
        mode's, as for charges."""
        with self._sessions() as session:
            refund = store.find_refund(session, refund_id)
            charge = None if refund is None else store.find_charge(session, refund.charge_id)
        if (
            refund is None
            or charge is None
            or charge.marketplace_id != marketplace
            or charge.livemode != livemode
        ):
            self._audit.append(_actor(livemode), "read_refund", None, "refused:not_found")
            raise NotFound("No such refund.", "refund_id")
        self._reads.append(_actor(livemode), "read_refund", charge.token, refund_id)
        return RefundStatus(
            refund_id=refund.refund_id,
            charge_id=refund.charge_id,
            status=refund.status,
            amount=refund.amount,
            failure_code=refund.failure_code,
            livemode=livemode,
        )

    def _approval(self, charge: ChargeRecord, clearance: Clearance | None, fresh: bool) -> None:
        """Refuse a capture that needs fraud's approval and lacks a valid one.

        A charge fraud held for review is captured only with an approval clearance; one
        given for any charge must verify (signature, charge, amount, card, lifetime). A
        replay of an executed capture (`fresh` False) moves no money: its approval, if
        given, must still be signed for this charge, but neither its expiry nor its
        absence is held against it."""
        if clearance is None:
            if fresh and charge.held_for_review:
                raise self._refuse(
                    charge.livemode,
                    "capture",
                    charge.token,
                    VaultError(
                        402,
                        "invalid_request_error",
                        "approval_required",
                        "This charge was held for review: its capture needs fraud's approval.",
                        "clearance",
                    ),
                )
            return
        try:
            self._approvals.check(charge, clearance, time.time(), fresh)
        except ClearanceRefused as exc:
            raise self._refuse(charge.livemode, "capture", charge.token, exc) from None

    def settle(
        self,
        livemode: bool,
        charge_id: str,
        marketplace: str,
        action: str,
        amount: int,
        clearance: Clearance | None = None,
    ) -> SettlementResult:
        """Capture `amount` of the authorisation, or void it (amount 0); once per charge. A
        capture of a charge held for review needs fraud's approval `clearance`."""
        charge = self._charge(action, livemode, charge_id, marketplace)
        if charge.status != "succeeded":
            raise self._refuse(
                livemode,
                action,
                charge.token,
                Conflict("charge_not_authorized", "Only a succeeded authorisation is settled."),
            )
        if amount > charge.amount:
            raise self._refuse(
                livemode,
                action,
                charge.token,
                VaultError(
                    400,
                    "invalid_request_error",
                    "amount_too_large",
                    "A capture cannot exceed the authorised amount.",
                    "amount",
                ),
            )
        with self._sessions() as session:
            existing = store.find_settlement(session, charge_id)
        replay = existing is not None and not _retryable(existing)
        if action == "capture":
            self._approval(charge, clearance, fresh=not replay)
        if existing is not None and replay:
            return self._repeat_settlement(charge, existing, action, amount)
        # Audited before anything can move money: no audit entry, no settlement (fail closed).
        self._audit.append(_actor(livemode), action, charge.token, "attempt")
        claim = SettlementRecord(
            charge_id=charge_id,
            action=action,
            amount=amount,
            amount_refunded=0,
            status="processing",
            created_at=int(time.time()),
            claimed_by=self._claims.owner,
            lease_until=self._claims.until(),
        )
        try:
            with self._sessions.begin() as session:
                if existing is None:
                    session.add(claim)
                elif not store.reclaim_settlement(session, claim):
                    raise IntegrityError("reclaim", None, Exception("claimed meanwhile"))
        except IntegrityError:
            with self._sessions() as session:
                claimed = store.find_settlement(session, charge_id)
            if claimed is None:
                raise
            return self._repeat_settlement(charge, claimed, action, amount)
        with self._claims.holding(SettlementRecord, charge_id):
            message = _settlement_message(charge, action, amount)
            outcome = self._execute(livemode, f"{action}s", message)
            crash_at("vault", "settlement_answered", "after")
            return self._finish_settlement(_actor(livemode), charge, outcome)

    def _finish_settlement(
        self, actor: str, charge: ChargeRecord, outcome: Answer
    ) -> SettlementResult:
        """Record the network's answer with its audit entry owed, in one transaction, and
        answer what is recorded (another holder's, if it took the settlement over)."""
        status = "succeeded" if outcome.approved else "failed"
        with self._sessions.begin() as session:
            recorded = store.complete_settlement(
                session,
                charge.charge_id,
                status,
                outcome.failure_code,
                int(time.time()),
                self._claims.owner,
            )
            settled = store.find_settlement(session, charge.charge_id)
            assert settled is not None  # claimed before the network was asked
            if recorded:
                entry = (actor, settled.action, charge.token, outcome.failure_code or status)
                self._audit.owe(session.connection(), [entry])
        self._audit.catch_up()
        if settled.status == "processing":
            raise Conflict("settlement_in_progress", "This charge is being settled; retry shortly.")
        return _settlement_result(charge, settled)

    def _repeat_settlement(
        self, charge: ChargeRecord, settled: SettlementRecord, action: str, amount: int
    ) -> SettlementResult:
        livemode = charge.livemode
        if settled.action != action or settled.amount != amount:
            raise self._refuse(
                livemode,
                action,
                charge.token,
                Conflict("charge_already_settled", "This charge was already captured or voided."),
            )
        if settled.status == "processing":
            # Being executed, or left by a crash or an unanswered network: wait for its
            # outcome, finishing it here if its lease lapses meanwhile.
            finished = self._claims.wait(lambda: self._settled(charge))
            if finished is not None:
                return finished
            raise self._refuse(
                livemode,
                action,
                charge.token,
                Conflict("settlement_in_progress", "This charge is being settled; retry shortly."),
            )
        self._audit.append(_actor(livemode), action, charge.token, "replayed")
        return _settlement_result(charge, settled)

    def refund(self, livemode: bool, request: RefundCreate) -> RefundResult:
        """Refund part or all of a captured charge; refunds never exceed the capture."""
        charge = self._charge("refund", livemode, request.charge_id, request.marketplace)
        with self._sessions() as session:
            existing = store.find_refund(session, request.refund_id)
        if existing is not None:
            return self._repeat_refund(charge, existing, request)
        self._audit.append(_actor(livemode), "refund", charge.token, "attempt")
        claim = RefundRecord(
            refund_id=request.refund_id,
            charge_id=request.charge_id,
            amount=request.amount,
            status="processing",
            created_at=int(time.time()),
            claimed_by=self._claims.owner,
            lease_until=self._claims.until(),
        )
        try:
            with self._sessions.begin() as session:
                settled = store.find_settlement(session, request.charge_id)
                if settled is None or settled.action != "capture" or settled.status != "succeeded":
                    raise Conflict("charge_not_captured", "Only a captured charge is refunded.")
                session.add(claim)
                session.flush()  # the refund id is claimed (or IntegrityError) before reserving
                if not store.reserve_refund(session, request.charge_id, request.amount):
                    raise Conflict("amount_too_large", "Refunds cannot exceed the captured amount.")
        except VaultError as exc:
            raise self._refuse(livemode, "refund", charge.token, exc) from None
        except IntegrityError:
            with self._sessions() as session:
                claimed = store.find_refund(session, request.refund_id)
            if claimed is None:
                raise
            return self._repeat_refund(charge, claimed, request)
        with self._claims.holding(RefundRecord, claim.refund_id):
            outcome = self._execute(livemode, "refunds", _refund_message(charge, claim))
            crash_at("vault", "refund_answered", "after")
            return self._finish_refund(_actor(livemode), charge, claim, outcome)

    def _finish_refund(
        self, actor: str, charge: ChargeRecord, refund: RefundRecord, outcome: Answer
    ) -> RefundResult:
        """As _finish_settlement, for a refund."""
        status = "succeeded" if outcome.approved else "failed"
        with self._sessions.begin() as session:
            recorded = store.complete_refund(
                session, refund, status, outcome.failure_code, int(time.time()), self._claims.owner
            )
            stored = store.find_refund(session, refund.refund_id)
            assert stored is not None  # claimed before the network was asked
            if recorded:
                entry = (actor, "refund", charge.token, outcome.failure_code or status)
                self._audit.owe(session.connection(), [entry])
        self._audit.catch_up()
        if stored.status == "processing":
            raise Conflict("refund_in_progress", "This refund is being executed; retry shortly.")
        return _refund_result(stored, charge.livemode)

    def _repeat_refund(
        self, charge: ChargeRecord, refund: RefundRecord, request: RefundCreate
    ) -> RefundResult:
        livemode = charge.livemode
        if refund.charge_id != request.charge_id or refund.amount != request.amount:
            raise self._refuse(
                livemode,
                "refund",
                charge.token,
                Conflict("refund_id_reused", "This refund id was used for a different refund."),
            )
        if refund.status == "processing":
            finished = self._claims.wait(lambda: self._refunded(charge, refund.refund_id))
            if finished is not None:
                return finished
            raise self._refuse(
                livemode,
                "refund",
                charge.token,
                Conflict("refund_in_progress", "This refund is being executed; retry shortly."),
            )
        self._audit.append(_actor(livemode), "refund", charge.token, "replayed")
        return _refund_result(refund, livemode)

    def _settled(self, charge: ChargeRecord) -> SettlementResult | None:
        """The capture's or void's result if it is finished, or once finished here."""
        with self._sessions() as session:
            settled = store.find_settlement(session, charge.charge_id)
        if settled is not None and settled.status != "processing":
            self._audit.append(_actor(charge.livemode), settled.action, charge.token, "replayed")
            return _settlement_result(charge, settled)
        return self._redrive_settlement(_actor(charge.livemode), charge.charge_id)

    def _refunded(self, charge: ChargeRecord, refund_id: str) -> RefundResult | None:
        """The refund's result if it is finished, or once finished here."""
        with self._sessions() as session:
            refund = store.find_refund(session, refund_id)
        if refund is not None and refund.status != "processing":
            self._audit.append(_actor(charge.livemode), "refund", charge.token, "replayed")
            return _refund_result(refund, charge.livemode)
        return self._redrive_refund(_actor(charge.livemode), refund_id)

    def complete_abandoned(self) -> int:
        """Finish the captures, voids and refunds whose lease lapsed (a crash, an unanswered
        network): each message is sent again under its idempotency key and the network's
        answer recorded; one still unanswered stays for the next round. How many finished."""
        settled = self._claims.finish_lapsed(
            self._sessions,
            SettlementRecord,
            lambda charge_id: self._redrive_settlement("vault", charge_id),
            "settlement of",
            log,
        )
        refunded = self._claims.finish_lapsed(
            self._sessions,
            RefundRecord,
            lambda refund_id: self._redrive_refund("vault", refund_id),
            "refund",
            log,
        )
        return settled + refunded

    def _redrive_settlement(self, actor: str, charge_id: str) -> SettlementResult | None:
        """Take over a lapsed capture or void and finish it from its record; None if another
        holds it or the network did not answer."""
        with self._sessions.begin() as session:
            if not self._claims.take(session, SettlementRecord, charge_id):
                return None
            settled = store.find_settlement(session, charge_id)
            charge = store.find_charge(session, charge_id)
        assert settled is not None and charge is not None  # a settlement row names its charge
        with self._claims.holding(SettlementRecord, charge_id):
            self._audit.append(actor, settled.action, charge.token, "redrive")
            message = _settlement_message(charge, settled.action, settled.amount)
            outcome = self._again(charge.livemode, f"{settled.action}s", message)
            if outcome is None:
                return None
            return self._finish_settlement(actor, charge, outcome)

    def _redrive_refund(self, actor: str, refund_id: str) -> RefundResult | None:
        """As _redrive_settlement, for a refund."""
        with self._sessions.begin() as session:
            if not self._claims.take(session, RefundRecord, refund_id):
                return None
            refund = store.find_refund(session, refund_id)
            charge = None if refund is None else store.find_charge(session, refund.charge_id)
        assert refund is not None and charge is not None  # a refund row names its charge
        with self._claims.holding(RefundRecord, refund_id):
            self._audit.append(actor, "refund", charge.token, "redrive")
            outcome = self._again(charge.livemode, "refunds", _refund_message(charge, refund))
            if outcome is None:
                return None
            return self._finish_refund(actor, charge, refund, outcome)

    def _execute(self, livemode: bool, kind: str, body: dict[str, object]) -> Answer:
        """The first sending of a message (cardnet.first_answer)."""
        if not livemode:
            # Test mode answers from the simulator: a settled test charge always settles.
            return _Settled()
        return self._network.first_answer(kind, body)

    def _again(self, livemode: bool, kind: str, body: dict[str, object]) -> Answer | None:
        """A message sent again after its answer was lost; None while still unanswered."""
        if not livemode:
            return _Settled()
        return self._network.ask_again(kind, body)
