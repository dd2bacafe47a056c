"""Queries and writes, one function per question the services ask of the database."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.orm import Session

from vault.domain.secret import Pan
from vault.store.models import CardRecord, ChargeRecord, MerchantKey


def find_merchant_key(session: Session, key_hash: bytes) -> MerchantKey | None:
    return session.get(MerchantKey, key_hash)


# Built once: this runs on every tokenisation, and a reused statement is compiled once.
_USABLE_KEY = select(
    MerchantKey.marketplace_id, MerchantKey.livemode, MerchantKey.kind, MerchantKey.expires_at
).where(MerchantKey.key_hash == bindparam("key_hash"))


def find_usable_merchant_key(
    conn: Connection, key_hash: bytes, now: int
) -> tuple[str, bool, str] | None:
    """(marketplace, livemode, kind) of a registered key, unless it expired (rolled)."""
    row = conn.execute(_USABLE_KEY, {"key_hash": key_hash}).first()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row.marketplace_id, row.livemode, row.kind


def has_cards(session: Session) -> bool:
    return session.scalars(select(CardRecord.token).limit(1)).first() is not None


def find_card(session: Session, token: str, marketplace: str, livemode: bool) -> CardRecord | None:
    """The card only if it belongs to this marketplace and mode: others' cards do not exist."""
    query = select(CardRecord).where(
        CardRecord.token == token,
        CardRecord.marketplace_id == marketplace,
        CardRecord.livemode == livemode,
    )
    return session.scalars(query).one_or_none()


def find_charge(session: Session, charge_id: str) -> ChargeRecord | None:
    return session.get(ChargeRecord, charge_id)


def complete_charge(
    session: Session,
    charge_id: str,
    status: str,
    failure_code: str | None,
    authorization_code: str | None,
    now: int,
    owner: str,
) -> bool:
    """Record the result of a charge `owner` holds; False if it does not (any more)."""
    result = session.execute(
        update(ChargeRecord)
        .where(
            ChargeRecord.charge_id == charge_id,
            ChargeRecord.status == "processing",
            ChargeRecord.claimed_by == owner,
        )
        .values(
            status=status,
            failure_code=failure_code,
            authorization_code=authorization_code,
            completed_at=now,
            lease_until=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def destroy_cvc(session: Session, token: str) -> bool:
    """Erase a card's CVC ciphertext; True if there was one to erase."""
    result = session.execute(
        update(CardRecord)
        .where(CardRecord.token == token, CardRecord.cvc_ciphertext.is_not(None))
        .values(cvc_nonce=None, cvc_ciphertext=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def count_similar_cards(
    session: Session, marketplace: str, livemode: bool, pan: Pan, fingerprint: str, since: int
) -> int:
    """Other cards (by fingerprint) of this marketplace and mode sharing the PAN's BIN and
    last four, tokenised since `since`."""
    query = select(func.count(func.distinct(CardRecord.fingerprint))).where(
        CardRecord.marketplace_id == marketplace,
        CardRecord.livemode == livemode,
        CardRecord.bin == pan.bin,
        CardRecord.last4 == pan.last4,
        CardRecord.created_at > since,
        CardRecord.fingerprint != fingerprint,
    )
    return session.scalar(query) or 0
