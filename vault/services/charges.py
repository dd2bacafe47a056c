"""Executing a charge: clearance, once-only claim, authorisation, CVC destruction, audit."""

from __future__ import annotations

import time
from dataclasses import astuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.cardnet import Authorization, CardNetwork, NetworkUnavailable
from vault.contracts import ChargeCreate, ChargeResult
from vault.crashpoints import crash_at
from vault.domain.clearance import ExpectedCharge, verify_clearance
from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import FAILURE_MESSAGES, Outcome, authorize_test
from vault.errors import ClearanceRefused, Conflict, VaultError
from vault.services import limits
from vault.services.cards import CardService
from vault.store import repository
from vault.store.models import CardRecord, ChargeRecord


def network_unavailable() -> VaultError:
    return VaultError(
        503,
        "api_error",
        "network_unavailable",
        "The card network did not answer; the charge stays processing until it is resolved.",
    )


def _result(charge_id: str, livemode: bool, outcome: Outcome) -> ChargeResult:
    code = outcome.failure_code
    return ChargeResult(
        charge_id=charge_id,
        status="succeeded" if outcome.approved else "failed",
        failure_code=code,
        failure_message=None if code is None else FAILURE_MESSAGES.get(code, "Card declined."),
        authorization_code=outcome.authorization_code,
        livemode=livemode,
    )


class ChargeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cards: CardService,
        audit: AuditLog,
        fraud_key: Ed25519PublicKey,
        network: CardNetwork,
        caps: limits.Caps,
        clearance_lifetime: int,
    ) -> None:
        self._sessions = sessions
        self._cards = cards
        self._audit = audit
        self._fraud_key = fraud_key
        self._network = network
        self._caps = caps
        self._clearance_lifetime = clearance_lifetime

    def charge(self, livemode: bool, request: ChargeCreate) -> ChargeResult:
        """Execute `request` once, in the caller's mode; a repeat returns the first result."""
        actor = f"service:{'live' if livemode else 'test'}"
        expected = ExpectedCharge(
            request.charge_id,
            request.card,
            request.marketplace,
            request.amount,
            request.currency,
            livemode,
        )
        crash_at("vault", "clearance_checked", "before")
        try:
            facts = verify_clearance(
                self._fraud_key,
                request.clearance.payload,
                request.clearance.signature,
                expected,
                time.time(),
                self._clearance_lifetime,
            )
        except ClearanceRefused:
            self._audit.append(actor, "charge", None, "refused:clearance_invalid")
            raise
        crash_at("vault", "clearance_checked", "after")
        with self._sessions() as session:
            existing = repository.find_charge(session, request.charge_id)
        if existing is not None:
            return self._repeat(actor, existing, expected)
        record = self._cards.find(actor, request.card, request.marketplace, livemode)
        if (record.bin, record.last4, record.fingerprint) != astuple(facts):
            # Fraud scored another card than this one (the caller described it falsely).
            self._audit.append(actor, "charge", record.token, "refused:clearance_card_mismatch")
            raise ClearanceRefused("the card is not the one fraud assessed")
        try:
            # Only the network takes a CVC: test mode leaves it sealed.
            pan, cvc = self._cards.open(record, with_cvc=livemode)
        except VaultError:
            self._audit.append(actor, "charge", record.token, "refused:record_integrity")
            raise
        # Audited before anything can move money: no audit entry, no charge (fail closed).
        crash_at("vault", "audit_requested", "before")
        self._audit.append(actor, "charge", record.token, "attempt")
        crash_at("vault", "audit_requested", "after")
        refusal = None
        crash_at("vault", "claimed", "before")
        try:
            with self._sessions.begin() as session:
                if livemode:  # test charges move no money: no caps, no breaker
                    now = int(time.time())
                    refusal = limits.reserve(
                        session, self._caps, expected.marketplace, expected.amount, now
                    )
                if refusal is None:
                    session.add(self._claim(expected, record))
        except IntegrityError:
            # Another request claimed this charge id first: it executes, this one does not.
            with self._sessions() as session:
                claimed = repository.find_charge(session, request.charge_id)
            if claimed is None:
                raise
            return self._repeat(actor, claimed, expected)
        if refusal is not None:
            self._audit.append(actor, "charge", record.token, f"refused:{refusal.code}")
            raise refusal
        crash_at("vault", "claimed", "after")
        outcome = self._authorize(livemode, request, record, pan, cvc)
        crash_at("vault", "network_answered", "after")
        self._record(actor, request.charge_id, record.token, outcome)
        crash_at("vault", "recorded", "after")
        return _result(request.charge_id, livemode, outcome)

    def _record(self, actor: str, charge_id: str, token: str, outcome: Outcome) -> None:
        """Keep the network's answer, destroy the CVC, and owe both audit entries, in one
        transaction; then write the entries if the log takes them.

        Failing closed is right before the network is called; after it, the money has moved:
        the answer is kept and answered whatever the log can do. Entries the log cannot take
        now are written from this record by the audit's catch-up, and no new operation starts
        until it has (vault.audit).
        """
        status = "succeeded" if outcome.approved else "failed"
        with self._sessions.begin() as session:
            repository.complete_charge(
                session,
                charge_id,
                status,
                outcome.failure_code,
                outcome.authorization_code,
                int(time.time()),
            )
            # The CVC serves the first authorisation attempt only, whatever its outcome.
            entries = [(actor, "charge", token, outcome.failure_code or status)]
            cvc_destroyed = repository.destroy_cvc(session, token)
            if cvc_destroyed:
                entries.append((actor, "destroy_cvc", token, "destroyed"))
            self._audit.owe(session.connection(), entries)
        if cvc_destroyed:
            self._cards.erase_destroyed()
        self._audit.catch_up()

    def _claim(self, expected: ExpectedCharge, record: CardRecord) -> ChargeRecord:
        return ChargeRecord(
            charge_id=expected.charge_id,
            token=record.token,
            marketplace_id=expected.marketplace,
            livemode=expected.livemode,
            amount=expected.amount,
            currency=expected.currency,
            status="processing",
            created_at=int(time.time()),
        )

    def _authorize(
        self,
        livemode: bool,
        request: ChargeCreate,
        record: CardRecord,
        pan: Pan,
        cvc: Cvc | None,
    ) -> Outcome:
        if not livemode:
            # Test mode answers from the simulator and never reaches a card network.
            return authorize_test(pan, request.charge_id)
        message = Authorization(
            reference=request.charge_id,
            merchant=request.marketplace,
            pan=pan,
            exp_month=record.exp_month,
            exp_year=record.exp_year,
            cvc=cvc,
            amount=request.amount,
            currency=request.currency,
        )
        try:
            return self._network.authorize(message)
        except NetworkUnavailable as exc:
            if not exc.sent:
                return Outcome(approved=False, failure_code="processing_error")
            # The network may have approved a request whose answer was lost: reverse it
            # (a void by reference) before calling the charge failed. If even that goes
            # unanswered, the charge stays processing and the completer finishes it.
            try:
                self._network.reverse(request.charge_id, request.marketplace)
            except NetworkUnavailable:
                raise network_unavailable() from None
            return Outcome(approved=False, failure_code="processing_error")

    def complete_abandoned(self, older_than: float) -> int:
        """Finish charges left processing (a crash, an unanswered network): reverse, then fail.

        A charge is abandoned once no request can still be waiting for it. Each is reversed
        at the network (live mode) and recorded failed, `processing_error`; one the network
        still does not answer for is left for the next round.
        """
        cutoff = int(time.time() - older_than)
        with self._sessions() as session:
            abandoned = repository.abandoned_charges(session, cutoff)
        done = 0
        for charge in abandoned:
            if charge.livemode:
                try:
                    self._network.reverse(charge.charge_id, charge.marketplace_id)
                except NetworkUnavailable:
                    continue
            failed = Outcome(approved=False, failure_code="processing_error")
            self._record("vault", charge.charge_id, charge.token, failed)
            done += 1
        return done

    def _repeat(self, actor: str, charge: ChargeRecord, expected: ExpectedCharge) -> ChargeResult:
        """The stored result of an executed charge id, if the request is the same charge."""
        same = (
            charge.token == expected.card
            and charge.marketplace_id == expected.marketplace
            and charge.livemode == expected.livemode
            and charge.amount == expected.amount
            and charge.currency == expected.currency
        )
        if not same:
            self._audit.append(actor, "charge", None, "refused:charge_id_reused")
            raise Conflict("charge_id_reused", "This charge id was used for a different charge.")
        if charge.status == "processing":
            self._audit.append(actor, "charge", charge.token, "refused:in_progress")
            raise Conflict("charge_in_progress", "This charge is being executed; retry shortly.")
        self._audit.append(actor, "charge", charge.token, "replayed")
        outcome = Outcome(
            charge.status == "succeeded", charge.failure_code, charge.authorization_code
        )
        return _result(charge.charge_id, charge.livemode, outcome)
