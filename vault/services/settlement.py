"""Settling an authorised charge: one capture or void, then refunds within the capture.

No clearance is asked for: each step moves at most what the charge's clearance allowed
(a capture ≤ the authorisation, refunds ≤ the capture, back to the same card). The card
is never decrypted: the network knows the authorisation by its reference, the charge id.
"""

from __future__ import annotations

import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.cardnet import CardNetwork, NetworkUnavailable
from vault.contracts import (
    ChargeState,
    RefundCreate,
    RefundResult,
    Settlement,
    SettlementResult,
)
from vault.crashpoints import crash_at
from vault.domain.test_network import Outcome
from vault.errors import Conflict, NotFound, VaultError
from vault.store import repository, settlements
from vault.store.models import ChargeRecord, RefundRecord, SettlementRecord


def _retryable(settled: SettlementRecord) -> bool:
    """A settlement the network never answered may be asked again, as capture or void."""
    return settled.status == "failed" and settled.failure_code == "processing_error"


def _actor(livemode: bool) -> str:
    return f"service:{'live' if livemode else 'test'}"


class SettlementService:
    def __init__(
        self, sessions: sessionmaker[Session], audit: AuditLog, network: CardNetwork
    ) -> None:
        self._sessions = sessions
        self._audit = audit
        self._network = network

    def _charge(
        self, action: str, livemode: bool, charge_id: str, marketplace: str
    ) -> ChargeRecord:
        """The charge of this marketplace and mode, or 404 (audited): others' do not exist."""
        with self._sessions() as session:
            charge = repository.find_charge(session, charge_id)
        if charge is None or charge.marketplace_id != marketplace or charge.livemode != livemode:
            self._audit.append(_actor(livemode), action, None, "refused:not_found")
            raise NotFound("No such charge.", "charge_id")
        return charge

    def _refuse(self, livemode: bool, action: str, token: str, error: VaultError) -> VaultError:
        self._audit.append(_actor(livemode), action, token, f"refused:{error.code}")
        return error

    def state(self, livemode: bool, charge_id: str, marketplace: str) -> ChargeState:
        charge = self._charge("read_charge", livemode, charge_id, marketplace)
        with self._sessions() as session:
            settled = settlements.find_settlement(session, charge_id)
            refunded = settlements.refunded_total(session, charge_id)
        self._audit.append(_actor(livemode), "read_charge", charge.token, "ok")
        return ChargeState(
            charge_id=charge.charge_id,
            status=charge.status,  # type: ignore[arg-type]
            amount=charge.amount,
            currency=charge.currency,
            failure_code=charge.failure_code,
            authorization_code=charge.authorization_code,
            settlement=None
            if settled is None
            else Settlement(
                action=settled.action,  # type: ignore[arg-type]
                status=settled.status,  # type: ignore[arg-type]
                amount=settled.amount,
            ),
            amount_refunded=refunded,
            livemode=charge.livemode,
        )

    def settle(
        self, livemode: bool, charge_id: str, marketplace: str, action: str, amount: int
    ) -> SettlementResult:
        """Capture `amount` of the authorisation, or void it (amount 0); once per charge."""
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
            existing = settlements.find_settlement(session, charge_id)
        if existing is not None and not _retryable(existing):
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
        )
        try:
            with self._sessions.begin() as session:
                if existing is None:
                    session.add(claim)
                elif not settlements.reclaim_settlement(session, claim):
                    raise IntegrityError("reclaim", None, Exception("claimed meanwhile"))
        except IntegrityError:
            with self._sessions() as session:
                claimed = settlements.find_settlement(session, charge_id)
            if claimed is None:
                raise
            return self._repeat_settlement(charge, claimed, action, amount)
        body: dict[str, object] = {"reference": charge_id, "merchant": marketplace}
        if action == "capture":
            body |= {"amount": amount, "currency": charge.currency}
        outcome = self._execute(livemode, f"{action}s", body)
        crash_at("vault", "settlement_answered", "after")
        status = "succeeded" if outcome.approved else "failed"
        # The network has acted: its answer is kept and answered, its entry owed (as charges).
        with self._sessions.begin() as session:
            settlements.complete_settlement(
                session, charge_id, status, outcome.failure_code, int(time.time())
            )
            entry = (_actor(livemode), action, charge.token, outcome.failure_code or status)
            self._audit.owe(session.connection(), [entry])
        self._audit.catch_up()
        return SettlementResult(
            charge_id=charge_id,
            action=action,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            amount=amount,
            failure_code=outcome.failure_code,
            livemode=livemode,
        )

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
            raise self._refuse(
                livemode,
                action,
                charge.token,
                Conflict("settlement_in_progress", "This charge is being settled; retry shortly."),
            )
        self._audit.append(_actor(livemode), action, charge.token, "replayed")
        return SettlementResult(
            charge_id=charge.charge_id,
            action=settled.action,  # type: ignore[arg-type]
            status=settled.status,  # type: ignore[arg-type]
            amount=settled.amount,
            failure_code=settled.failure_code,
            livemode=livemode,
        )

    def refund(self, livemode: bool, request: RefundCreate) -> RefundResult:
        """Refund part or all of a captured charge; refunds never exceed the capture."""
        charge = self._charge("refund", livemode, request.charge_id, request.marketplace)
        with self._sessions() as session:
            existing = settlements.find_refund(session, request.refund_id)
        if existing is not None:
            return self._repeat_refund(charge, existing, request)
        self._audit.append(_actor(livemode), "refund", charge.token, "attempt")
        claim = RefundRecord(
            refund_id=request.refund_id,
            charge_id=request.charge_id,
            amount=request.amount,
            status="processing",
            created_at=int(time.time()),
        )
        try:
            with self._sessions.begin() as session:
                settled = settlements.find_settlement(session, request.charge_id)
                if settled is None or settled.action != "capture" or settled.status != "succeeded":
                    raise Conflict("charge_not_captured", "Only a captured charge is refunded.")
                session.add(claim)
                session.flush()  # the refund id is claimed (or IntegrityError) before reserving
                if not settlements.reserve_refund(session, request.charge_id, request.amount):
                    raise Conflict("amount_too_large", "Refunds cannot exceed the captured amount.")
        except VaultError as exc:
            raise self._refuse(livemode, "refund", charge.token, exc) from None
        except IntegrityError:
            with self._sessions() as session:
                claimed = settlements.find_refund(session, request.refund_id)
            if claimed is None:
                raise
            return self._repeat_refund(charge, claimed, request)
        outcome = self._execute(
            livemode,
            "refunds",
            {
                "reference": request.refund_id,
                "authorization": request.charge_id,
                "merchant": request.marketplace,
                "amount": request.amount,
                "currency": charge.currency,
            },
        )
        crash_at("vault", "refund_answered", "after")
        status = "succeeded" if outcome.approved else "failed"
        with self._sessions.begin() as session:
            settlements.complete_refund(
                session, claim, status, outcome.failure_code, int(time.time())
            )
            entry = (_actor(livemode), "refund", charge.token, outcome.failure_code or status)
            self._audit.owe(session.connection(), [entry])
        self._audit.catch_up()
        return self._refund_result(claim, status, outcome.failure_code, livemode)

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
            raise self._refuse(
                livemode,
                "refund",
                charge.token,
                Conflict("refund_in_progress", "This refund is being executed; retry shortly."),
            )
        self._audit.append(_actor(livemode), "refund", charge.token, "replayed")
        return self._refund_result(refund, refund.status, refund.failure_code, livemode)

    @staticmethod
    def _refund_result(
        refund: RefundRecord, status: str, failure_code: str | None, livemode: bool
    ) -> RefundResult:
        return RefundResult(
            refund_id=refund.refund_id,
            charge_id=refund.charge_id,
            status=status,  # type: ignore[arg-type]
            amount=refund.amount,
            failure_code=failure_code,
            livemode=livemode,
        )

    def complete_abandoned(self, older_than: float) -> int:
        """Settlements left processing (a crash) become failed `processing_error`, which a
        repeated capture or void may claim again: none stays unsettleable for ever. The
        network answers a repeated capture or void of one reference as it did the first."""
        cutoff = int(time.time() - older_than)
        with self._sessions.begin() as session:
            abandoned = settlements.abandoned_settlements(session, cutoff)
            for settled, _ in abandoned:
                settlements.complete_settlement(
                    session, settled.charge_id, "failed", "processing_error", int(time.time())
                )
            entries = [("vault", s.action, token, "abandoned") for s, token in abandoned]
            if entries:
                self._audit.owe(session.connection(), entries)
        self._audit.catch_up()
        return len(abandoned)

    def _execute(self, livemode: bool, kind: str, body: dict[str, object]) -> Outcome:
        if not livemode:
            # Test mode answers from the simulator: a settled test charge always settles.
            return Outcome(approved=True)
        try:
            return self._network.settle(kind, body)
        except NetworkUnavailable:
            return Outcome(approved=False, failure_code="processing_error")
