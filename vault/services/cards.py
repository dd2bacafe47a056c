"""Tokenising a card, reading its metadata, opening its sealed fields, destroying CVCs."""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.auth import Merchant
from vault.config import Settings, decode_key32
from vault.contracts import Card, CardCreate, CardMetadata
from vault.crypto.envelope import Envelope, IntegrityError, Sealed, record_aad
from vault.crypto.keyed_hash import card_fingerprint
from vault.crypto.keyring import KeyringError
from vault.domain.cards import check_card, check_name, new_token
from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import is_test_card
from vault.errors import CardError, NotFound, VaultError
from vault.store import repository
from vault.store.db import autocommit, erase_freed
from vault.store.models import CardRecord

log = logging.getLogger("vault.cards")


def _cvc_field(created_at: int) -> str:
    return f"cvc@{created_at}"


_INSERT = insert(CardRecord)  # built once: a statement reused is compiled once


class CardService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        envelope: Envelope,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._engine: Engine = sessions.kw["bind"]
        # Single-statement reads: outside a transaction (no BEGIN and ROLLBACK round trips).
        self._reads = autocommit(self._engine)
        self._envelope = envelope
        self._audit = audit
        self._fingerprint_key = decode_key32(settings.fingerprint_key.get_secret_value())
        self._cvc_ttl = settings.cvc_ttl
        self._guessing_limit = settings.guessing_limit  # per BIN and last four, in the window
        self._guessing_window = settings.guessing_window

    def tokenise(self, merchant: Merchant, request: CardCreate) -> Card:
        """Check the card, seal it under a fresh data key, store it, audit it."""
        today = dt.datetime.now(dt.UTC).date()
        try:
            card = check_card(
                request.number, request.exp_month, request.exp_year, request.cvc, today
            )
            name = check_name(request.name)
            self._check_mode(merchant, card.pan)
            fingerprint = card_fingerprint(
                self._fingerprint_key, merchant.marketplace, merchant.livemode, card.pan
            )
            self._check_guessing(merchant, card.pan, fingerprint)
        except VaultError as exc:
            # Refused submissions are audited too, by reason, never with what was submitted.
            self._audit.append(merchant.actor, "tokenize", None, f"refused:{exc.code}")
            raise
        token = new_token()
        key = self._envelope.new_record_key()

        def aad(field: str) -> bytes:
            return record_aad(token, merchant.marketplace, merchant.livemode, field)

        created_at = int(time.time())
        pan = key.seal(card.pan.reveal().encode(), aad("pan"))
        # Sealed apart from the PAN, so it can be destroyed alone after first use; bound to
        # the record's time, so a CVC restored from a snapshot is never used past its TTL.
        cvc = key.seal(card.cvc.reveal().encode(), aad(_cvc_field(created_at)))
        row = {
            "token": token,
            "marketplace_id": merchant.marketplace,
            "livemode": merchant.livemode,
            "brand": card.brand,
            "bin": card.pan.bin,
            "last4": card.pan.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": fingerprint,
            "name": name,
            "key_version": key.key_version,
            "wrapped_key": key.wrapped,
            "pan_nonce": pan.nonce,
            "pan_ciphertext": pan.ciphertext,
            "cvc_nonce": cvc.nonce,
            "cvc_ciphertext": cvc.ciphertext,
            "created_at": created_at,
        }

        def store(conn: Connection) -> None:
            conn.execute(_INSERT, row)

        # Stored only once its entry is on disk: a failed audit write stores nothing (fail
        # closed); a failed insert after it leaves an over-report, never an unaudited card.
        self._audit.submit([(merchant.actor, "tokenize", token, "created")], store).result()
        return Card(
            id=token,
            last4=card.pan.last4,
            brand=card.brand,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            # A publishable key is in every checkout page: it never learns a fingerprint.
            fingerprint=fingerprint if merchant.kind == "secret" else None,
            livemode=merchant.livemode,
        )

    @staticmethod
    def _check_mode(merchant: Merchant, pan: Pan) -> None:
        """Test mode takes the documented test cards only; live mode takes none of them."""
        if merchant.livemode and is_test_card(pan):
            # A published test number in live mode is a mistake or a probe; never store it.
            raise CardError(
                "card_declined",
                "Your card was declined: a known test card was used in live mode.",
                "number",
            )
        if not merchant.livemode and not is_test_card(pan):
            # No real card enters test mode: tokenising guesses there learns nothing.
            raise CardError(
                "card_declined",
                "Your card was declined: test mode takes only the documented test cards "
                "(the Visa ending 4242, the Mastercard ending 4444, the others in the "
                "documentation's list of test cards), never a real card.",
                "number",
            )

    def _check_guessing(self, merchant: Merchant, pan: Pan, fingerprint: str) -> None:
        """Refuse, and alert on, many different numbers sharing one BIN and last four.

        That is what guessing a card's hidden digits looks like: its BIN and last four are
        known (they are shown to merchants), the six digits between are tried.
        """
        since = int(time.time()) - self._guessing_window
        with self._reads.connect() as conn:
            others = repository.count_similar_cards(
                conn, merchant.marketplace, merchant.livemode, pan, fingerprint, since
            )
        if others >= self._guessing_limit:
            log.error(
                "ALERT card guessing: %s tokenised %d other cards with BIN %s and last four "
                "%s within %d s; refused",
                merchant.actor,
                others,
                pan.bin,
                pan.last4,
                self._guessing_window,
            )
            raise CardError(
                "card_velocity_exceeded",
                "Your card was declined: too many cards like it were tried recently.",
                "number",
            )

    def find_unaudited(
        self, actor: str, token: str, marketplace: str, livemode: bool
    ) -> CardRecord:
        """The card of this marketplace and mode, or 404, for a caller whose own audit entry
        names the card it found (a charge's attempt, `metadata`): only a miss is audited here."""
        with self._reads.connect() as conn:
            record = repository.find_card(conn, token, marketplace, livemode)
        if record is None:
            self._audit.append(actor, "read", None, "not_found")
            raise NotFound("No such card.", "card")
        return record

    def metadata(self, actor: str, token: str, marketplace: str, livemode: bool) -> CardMetadata:
        """What the app zone may know of a card; each look-up is audited."""
        record = self.find_unaudited(actor, token, marketplace, livemode)
        self._audit.append(actor, "read", token, "ok")
        return CardMetadata(
            id=record.token,
            marketplace=record.marketplace_id,
            livemode=record.livemode,
            brand=record.brand,
            bin=record.bin,
            last4=record.last4,
            exp_month=record.exp_month,
            exp_year=record.exp_year,
            fingerprint=record.fingerprint,
        )

    def open(self, record: CardRecord, with_cvc: bool) -> tuple[Pan, Cvc | None]:
        """Decrypt the PAN, and the CVC if asked and still kept; refuse a failed tag."""
        # Past its time a CVC is never used, even before the sweep has destroyed it.
        with_cvc = with_cvc and record.created_at + self._cvc_ttl > time.time()

        def aad(field: str) -> bytes:
            return record_aad(record.token, record.marketplace_id, record.livemode, field)

        try:
            key = self._envelope.record_key(record.key_version, record.wrapped_key)
            pan = key.open(Sealed(record.pan_nonce, record.pan_ciphertext), aad("pan"))
            cvc = None
            if with_cvc and record.cvc_nonce is not None and record.cvc_ciphertext is not None:
                sealed = Sealed(record.cvc_nonce, record.cvc_ciphertext)
                cvc = key.open(sealed, aad(_cvc_field(record.created_at)))
        except (IntegrityError, KeyringError) as exc:
            # Fail closed: a record that does not authenticate is never sent anywhere.
            log.error("card record %s cannot be opened: %s", record.token, exc)
            raise VaultError(
                500, "api_error", "record_integrity", "The card record failed an integrity check."
            ) from None
        return Pan(pan.decode()), None if cvc is None else Cvc(cvc.decode())

    def destroy_expired_cvcs(self) -> int:
        """Destroy the CVCs kept unused past their time, each destruction audited first."""
        cutoff = int(time.time()) - self._cvc_ttl
        with self._sessions() as session:
            query = select(CardRecord.token).where(
                CardRecord.cvc_ciphertext.is_not(None), CardRecord.created_at <= cutoff
            )
            tokens = list(session.scalars(query.limit(1000)))

        def destroy(conn: Connection) -> None:
            conn.execute(
                update(CardRecord)
                .where(CardRecord.token.in_(tokens))
                .values(cvc_nonce=None, cvc_ciphertext=None)
            )

        if tokens:
            entries = [("vault", "destroy_cvc", token, "expired") for token in tokens]
            self._audit.submit(entries, destroy).result()
            self.erase_destroyed()
        return len(tokens)

    def erase_destroyed(self) -> None:
        """Leave no copy of destroyed CVCs in the database's files (its WAL included)."""
        erase_freed(self._engine)
