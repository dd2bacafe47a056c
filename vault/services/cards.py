"""Tokenising a card, reading its metadata, opening its sealed fields, destroying CVCs."""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from vault.audit import AuditLog
from vault.auth import Merchant
from vault.contracts import Card, CardCreate, CardMetadata
from vault.crypto.envelope import Envelope, IntegrityError, Sealed, record_aad
from vault.crypto.keyed_hash import card_fingerprint
from vault.crypto.keyring import KeyringError
from vault.domain.cards import check_card, check_name, new_token
from vault.domain.secret import Cvc, Pan
from vault.domain.test_network import is_test_card
from vault.errors import CardError, NotFound, VaultError
from vault.store import repository
from vault.store.models import CardRecord

log = logging.getLogger("vault.cards")
_INSERT = insert(CardRecord)  # built once: a statement reused is compiled once


class CardService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        envelope: Envelope,
        audit: AuditLog,
        fingerprint_key: bytes,
        cvc_ttl: int,
    ) -> None:
        self._sessions = sessions
        self._envelope = envelope
        self._audit = audit
        self._fingerprint_key = fingerprint_key
        self._cvc_ttl = cvc_ttl

    def tokenise(self, merchant: Merchant, request: CardCreate) -> Card:
        """Check the card, seal it under a fresh data key, store it, audit it."""
        today = dt.datetime.now(dt.UTC).date()
        card = check_card(request.number, request.exp_month, request.exp_year, request.cvc, today)
        name = check_name(request.name)
        if merchant.livemode and is_test_card(card.pan):
            # A published test number in live mode is a mistake or a probe; never store it.
            self._audit.append(merchant.actor, "tokenize", None, "refused:test_card_in_live_mode")
            raise CardError(
                "card_declined",
                "Your card was declined: a known test card was used in live mode.",
                "number",
            )
        token = new_token()
        key = self._envelope.new_record_key()

        def aad(field: str) -> bytes:
            return record_aad(token, merchant.marketplace, merchant.livemode, field)

        pan = key.seal(card.pan.reveal().encode(), aad("pan"))
        # Sealed apart from the PAN, so it can be destroyed alone after first use.
        cvc = key.seal(card.cvc.reveal().encode(), aad("cvc"))
        row = {
            "token": token,
            "marketplace_id": merchant.marketplace,
            "livemode": merchant.livemode,
            "brand": card.brand,
            "bin": card.pan.bin,
            "last4": card.pan.last4,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": card_fingerprint(self._fingerprint_key, merchant.marketplace, card.pan),
            "name": name,
            "key_version": key.key_version,
            "wrapped_key": key.wrapped,
            "pan_nonce": pan.nonce,
            "pan_ciphertext": pan.ciphertext,
            "cvc_nonce": cvc.nonce,
            "cvc_ciphertext": cvc.ciphertext,
            "created_at": int(time.time()),
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
            fingerprint=str(row["fingerprint"]),
            livemode=merchant.livemode,
        )

    def find(self, actor: str, token: str, marketplace: str, livemode: bool) -> CardRecord:
        """The card of this marketplace and mode, or 404; each look-up is audited."""
        with self._sessions() as session:
            record = repository.find_card(session, token, marketplace, livemode)
        if record is None:
            self._audit.append(actor, "read", None, "not_found")
            raise NotFound("No such card.", "card")
        self._audit.append(actor, "read", token, "ok")
        return record

    def metadata(self, actor: str, token: str, marketplace: str, livemode: bool) -> CardMetadata:
        record = self.find(actor, token, marketplace, livemode)
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
            name=record.name,
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
                cvc = key.open(Sealed(record.cvc_nonce, record.cvc_ciphertext), aad("cvc"))
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
        return len(tokens)
