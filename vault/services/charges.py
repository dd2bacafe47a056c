"""Executing a charge: clearance, once-only claim, authorisation, CVC destruction, audit.

Recovery points (vault.crashpoints), each phase one transaction or one message:
clearance_checked → audit_requested (the attempt entry, on disk; its group commit's
transaction then claims the charge) → claimed (the charge row, `processing`, under this
process's lease: the network not asked yet) → network_answered →
recorded (outcome, CVC destruction and owed audit entries in one transaction; on
PostgreSQL in one statement). A charge left between claimed and recorded is finished by
the completer from its row, asking the network again under the charge id
(vault.store.claims).

A charge asked with `capture` is a sale: one network message authorises and captures the
whole amount, and the record transaction keeps the capture (its settlement row and audit
entry) with the outcome; its row says so, so a re-drive sends the same sale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import astuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.cardnet import Authorization, CardNetwork, ask, first_answer
from vault.contracts import ChargeCreate, ChargeResult
from vault.crashpoints import crash_at
from vault.domain.clearance import ExpectedCharge, open_clearance
from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import FAILURE_MESSAGES, Outcome, authorize_test
from vault.errors import ClearanceRefused, Conflict, NotFound, VaultError
from vault.services.cards import CardService
from vault.store import repository
from vault.store.claims import Claims
from vault.store.db import autocommit
from vault.store.models import CardRecord, ChargeRecord
from vault.store.outcomes import Outcomes
from vault.store.owed import Entry
from vault.store.repository import StoredCharge

log = logging.getLogger("vault.charges")


def _result(
    charge_id: str, livemode: bool, outcome: Outcome, captured: int | None = None
) -> ChargeResult:
    """The answer; `captured`, the amount a sale captured (kept only if it was approved)."""
    code = outcome.failure_code
    return ChargeResult(
        charge_id=charge_id,
        status="succeeded" if outcome.approved else "failed",
        failure_code=code,
        failure_message=None if code is None else FAILURE_MESSAGES.get(code, "Card declined."),
        authorization_code=outcome.authorization_code,
        amount_captured=captured if outcome.approved else None,
        livemode=livemode,
    )


# Counts a live charge (marketplace, amount, now) against the spend caps and breakers in
# the claim's transaction, or says why it is refused: vault_operator.limits, handed in by
# the app (the operator's controls hold no card, and the card core imports none of them).
Reserve = Callable[[Connection, str, int, int], VaultError | None]


class ChargeService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cards: CardService,
        audit: AuditLog,
        fraud_key: Ed25519PublicKey,
        network: CardNetwork,
        reserve: Reserve,
        clearance_lifetime: int,
        claims: Claims,
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        # Single-statement reads: outside a transaction (no BEGIN and ROLLBACK round trips).
        self._reads = autocommit(self._engine)
        self._outcomes = Outcomes(self._engine)
        self._claims = claims
        self._cards = cards
        self._audit = audit
        self._fraud_key = fraud_key
        self._network = network
        self._reserve = reserve
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
        now = time.time()
        try:
            cleared = open_clearance(
                self._fraud_key,
                request.clearance.payload,
                request.clearance.signature,
                expected,
                now,
                self._clearance_lifetime,
            )
        except ClearanceRefused:
            self._audit.append(actor, "charge", None, "refused:clearance_invalid")
            raise
        if request.capture and cleared.held:
            # Held for review: only fraud's approval captures it (vault.services.settlement).
            self._audit.append(actor, "charge", None, "refused:approval_required")
            raise VaultError(
                402,
                "invalid_request_error",
                "approval_required",
                "This charge is held for review: authorise it only; its capture needs "
                "fraud's approval.",
                "capture",
            )
        token, market = request.card, request.marketplace
        with self._reads.connect() as conn:
            card = repository.find_card_and_charge(conn, token, market, livemode, request.charge_id)
            existing = card[1] if card else repository.find_charge(conn, request.charge_id)
        if existing is not None:
            # Signed for exactly this charge, so the retry of a request whose answer was
            # lost gets the recorded outcome even after its clearance expired: a replay
            # moves no money. Only a new execution needs an unexpired clearance.
            return self._repeat(actor, existing, expected)
        try:
            cleared.unexpired(now)
        except ClearanceRefused:
            self._audit.append(actor, "charge", None, "refused:clearance_invalid")
            raise
        crash_at("vault", "clearance_checked", "after")
        # Not audited as a read: the attempt entry below names the card, a miss is audited.
        record = card[0] if card else self._cards.find_unaudited(actor, token, market, livemode)
        if (record.bin, record.last4, record.fingerprint) != astuple(cleared.facts):
            # Fraud scored another card than this one (the caller described it falsely).
            self._audit.append(actor, "charge", record.token, "refused:clearance_card_mismatch")
            raise ClearanceRefused("the card is not the one fraud assessed")
        try:
            # Only the network takes a CVC: test mode leaves it sealed.
            pan, cvc = self._cards.open(record, with_cvc=livemode)
        except VaultError:
            self._audit.append(actor, "charge", record.token, "refused:record_integrity")
            raise
        crash_at("vault", "audit_requested", "before")
        refusal: VaultError | None = None

        def claim(conn: Connection) -> None:
            nonlocal refusal  # run again, alone, if another job of its round failed
            crash_at("vault", "audit_requested", "after")  # audited, not claimed
            crash_at("vault", "claimed", "before")
            refusal = None
            if livemode:  # test charges move no money: no caps, no breaker
                now = int(time.time())
                refusal = self._reserve(conn, request.marketplace, request.amount, now)
            if refusal is None:
                claimed = self._claim(expected, record.token, cleared.held, request.capture)
                repository.claim_charge(conn, claimed)

        try:
            # Audited before anything can move money: no audit entry, no charge (fail closed).
            # The claim is the entry's own work, in the transaction that moves the log's anchor.
            self._audit.submit([(actor, "charge", record.token, "attempt")], claim).result()
        except IntegrityError:
            # Another request claimed this charge id first: it executes, this one does not.
            with self._reads.connect() as conn:
                existing = repository.find_charge(conn, request.charge_id)
            if existing is None:
                raise
            return self._repeat(actor, existing, expected)
        if refusal is not None:
            self._audit.append(actor, "charge", record.token, f"refused:{refusal.code}")
            raise refusal
        crash_at("vault", "claimed", "after")
        with self._claims.holding(ChargeRecord, request.charge_id):
            outcome = self._authorize(livemode, request, record, pan, cvc)
            crash_at("vault", "network_answered", "after")
            captured = request.amount if request.capture else None
            result = self._finish(
                actor, request.charge_id, record.token, livemode, outcome, captured
            )
        crash_at("vault", "recorded", "after")
        return result

    def _finish(
        self,
        actor: str,
        charge_id: str,
        token: str,
        livemode: bool,
        outcome: Outcome,
        captured: int | None,
    ) -> ChargeResult:
        """Record the network's answer (and a sale's `captured` amount) and answer it; if
        another holder took the charge over meanwhile, answer what it recorded (it asked
        the network the same question)."""
        if self._record(actor, charge_id, token, outcome, captured):
            return _result(charge_id, livemode, outcome, captured)
        with self._reads.connect() as conn:
            charge = repository.find_charge(conn, charge_id)
        if charge is None or charge.status == "processing":
            raise Conflict("charge_in_progress", "This charge is being executed; retry shortly.")
        return _stored(charge)

    def _record(
        self, actor: str, charge_id: str, token: str, outcome: Outcome, captured: int | None
    ) -> bool:
        """Keep the network's answer (and an approved sale's capture), destroy the CVC, and
        owe their audit entries, all or nothing (one statement on PostgreSQL, one
        transaction on SQLite); then write the entries if the log takes them. False if this
        process no longer holds the charge (nothing is written).

        Failing closed is right before the network is called; after it, the money has moved:
        the answer is kept and answered whatever the log can do. Entries the log cannot take
        now are written from this record by the audit's catch-up, and no new operation starts
        until it has (vault.audit).
        """
        status = "succeeded" if outcome.approved else "failed"
        if not outcome.approved:
            captured = None
        # The CVC serves the first authorisation attempt only, whatever its outcome.
        entries: list[Entry] = [(actor, "charge", token, outcome.failure_code or status)]
        if captured is not None:
            entries.append((actor, "capture", token, "succeeded"))
        self._audit.vet([*entries, (actor, "destroy_cvc", token, "destroyed")])
        owner, row = self._claims.owner, (status, outcome.failure_code, outcome.authorization_code)
        done = self._outcomes.record(charge_id, owner, row, captured, entries, (actor, token))
        if done.cvc_destroyed:
            self._cards.erase_destroyed()
        self._audit.catch_up(done.owed)  # committed: written without reading them back
        return done.held

    def _claim(
        self, expected: ExpectedCharge, token: str, held: bool, capture: bool
    ) -> dict[str, object]:
        """The charge's row as claimed: `processing`, under this process's lease."""
        return {
            "charge_id": expected.charge_id,
            "token": token,
            "marketplace_id": expected.marketplace,
            "livemode": expected.livemode,
            "amount": expected.amount,
            "currency": expected.currency,
            "status": "processing",
            "created_at": int(time.time()),
            "claimed_by": self._claims.owner,
            "lease_until": self._claims.until(),
            "held_for_review": held,
            "capture": capture,
        }

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
            capture=request.capture,
        )
        return first_answer(lambda: self._network.authorize(message), self._network.retry_budget)

    def complete_abandoned(self) -> int:
        """Finish the charges whose lease lapsed (a crash, an unanswered network): each is
        asked of the network again under its charge id, and its answer recorded. One the
        network still does not answer stays for the next round. How many were finished."""
        return self._claims.finish_lapsed(
            self._sessions,
            ChargeRecord,
            lambda charge_id: self._redrive("vault", charge_id),
            "charge",
            log,
        )

    def renew_claims(self) -> None:
        """Extend the leases of this process's running charges, settlements and refunds."""
        with self._sessions.begin() as session:
            self._claims.renew(session)

    def _outcome(self, actor: str, charge_id: str) -> ChargeResult | None:
        """The charge's result if it is finished, or once finished here; else None."""
        with self._reads.connect() as conn:
            charge = repository.find_charge(conn, charge_id)
        if charge is not None and charge.status != "processing":
            self._audit.append(actor, "charge", charge.token, "replayed")
            return _stored(charge)
        return self._redrive(actor, charge_id)

    def _redrive(self, actor: str, charge_id: str) -> ChargeResult | None:
        """Take over a lapsed charge and finish it from its record; None if another holds
        it or the network did not answer."""
        with self._sessions.begin() as session:
            if not self._claims.take(session, ChargeRecord, charge_id):
                return None
            charge = repository.find_charge(session.connection(), charge_id)
            card = None if charge is None else session.get(CardRecord, charge.token)
        if charge is None or card is None:
            raise NotFound("No such charge.", "charge_id")
        with self._claims.holding(ChargeRecord, charge_id):
            # Audited before the network is asked again (fail closed, as the first time).
            self._audit.append(actor, "charge", charge.token, "redrive")
            pan, _ = self._cards.open(card, with_cvc=False)  # a repeat is sent without CVC
            if not charge.livemode:
                outcome: Outcome | None = authorize_test(pan, charge_id)
            else:
                message = Authorization(
                    reference=charge_id,
                    merchant=charge.marketplace_id,
                    pan=pan,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                    cvc=None,
                    amount=charge.amount,
                    currency=charge.currency,
                    capture=charge.capture,
                )
                outcome = ask(lambda: self._network.authorize(message), 0)
            if outcome is None:
                return None
            captured = charge.amount if charge.capture else None
            return self._finish(actor, charge_id, charge.token, charge.livemode, outcome, captured)

    def _repeat(self, actor: str, charge: StoredCharge, expected: ExpectedCharge) -> ChargeResult:
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
            # Being executed, or left by a crash or an unanswered network: wait for its
            # outcome, finishing it here if its lease lapses meanwhile.
            finished = self._claims.wait(lambda: self._outcome(actor, charge.charge_id))
            if finished is not None:
                return finished
            self._audit.append(actor, "charge", charge.token, "refused:in_progress")
            raise Conflict("charge_in_progress", "This charge is being executed; retry shortly.")
        self._audit.append(actor, "charge", charge.token, "replayed")
        return _stored(charge)


def _stored(charge: StoredCharge) -> ChargeResult:
    """The result of a charge as recorded (a sale's capture is recorded with it)."""
    outcome = Outcome(charge.status == "succeeded", charge.failure_code, charge.authorization_code)
    captured = charge.amount if charge.capture else None
    return _result(charge.charge_id, charge.livemode, outcome, captured)
