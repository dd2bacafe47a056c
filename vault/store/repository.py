"""Queries and writes, one function per question the services ask of the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from vault.domain.secret import Pan
from vault.domain.states import Execution
from vault.store.models import CardRecord, ChargeRecord, MerchantKey

# Built once: a reused statement is compiled once.
_USABLE_KEY = select(
    MerchantKey.marketplace_id, MerchantKey.livemode, MerchantKey.kind, MerchantKey.expires_at
).where(MerchantKey.key_hash == bindparam("key_hash"))


def find_merchant_key_row(
    conn: Connection, key_hash: bytes
) -> tuple[str, bool, str, int | None] | None:
    """(marketplace, livemode, kind, expires_at) of a registered key, expired or not."""
    row = conn.execute(_USABLE_KEY, {"key_hash": key_hash}).first()
    if row is None:
        return None
    return row.marketplace_id, row.livemode, row.kind, row.expires_at


def has_cards(session: Session) -> bool:
    return session.scalars(select(CardRecord.token).limit(1)).first() is not None


_CARD = select(CardRecord.__table__).where(
    CardRecord.token == bindparam("token"),
    CardRecord.marketplace_id == bindparam("marketplace"),
    CardRecord.livemode == bindparam("livemode"),
)


def find_card(conn: Connection, token: str, marketplace: str, livemode: bool) -> CardRecord | None:
    """The card only if it belongs to this marketplace and mode: others' cards do not exist.

    Read as a row (no session, no identity map: half the CPU of an ORM query) and handed
    on as a CardRecord that belongs to no session."""
    values = {"token": token, "marketplace": marketplace, "livemode": livemode}
    row = conn.execute(_CARD, values).first()
    return None if row is None else CardRecord(**row._mapping)


@dataclass(frozen=True, slots=True)
class StoredCharge:
    """A charge as recorded: a plain row, read without a session."""

    charge_id: str
    token: str
    marketplace_id: str
    livemode: bool
    amount: int
    currency: str
    status: Execution
    failure_code: str | None
    authorization_code: str | None
    capture: bool


# Built once, as every statement of the charge path: a reused statement is compiled once.
_charges = cast(Table, ChargeRecord.__table__)
_CHARGE = select(*(_charges.c[name] for name in StoredCharge.__slots__)).where(
    _charges.c.charge_id == bindparam("charge_id")
)
_CLAIM = insert(_charges)
_cards = cast(Table, CardRecord.__table__)

# _CARD, and beside it the charge already recorded under an id if any: one statement.
_CARD_AND_CHARGE = _CARD.add_columns(
    *(c.label(f"charge_{c.name}") for c in _CHARGE.selected_columns)
).outerjoin(_charges, _charges.c.charge_id == bindparam("charge_id"))


def find_card_and_charge(
    conn: Connection, token: str, marketplace: str, livemode: bool, charge_id: str
) -> tuple[CardRecord, StoredCharge | None] | None:
    """find_card's card and find_charge's charge in one round trip; None if no such card
    (find_charge then tells whether the charge exists)."""
    values = {"token": token, "marketplace": marketplace, "livemode": livemode}
    row = conn.execute(_CARD_AND_CHARGE, {**values, "charge_id": charge_id}).first()
    if row is None:
        return None
    card = len(_cards.c)
    charge = None if row[card] is None else StoredCharge(*row[card:])
    return CardRecord(**dict(zip(_cards.c.keys(), row[:card], strict=True))), charge


def find_charge(conn: Connection, charge_id: str) -> StoredCharge | None:
    """The charge recorded under `charge_id`, if any: one statement, no ORM object."""
    row = conn.execute(_CHARGE, {"charge_id": charge_id}).first()
    return None if row is None else StoredCharge(*row)


def claim_charge(conn: Connection, row: dict[str, object]) -> None:
    """Insert a charge's row, `processing`; IntegrityError if its id was claimed already."""
    conn.execute(_CLAIM, row)


# Built once, as every statement of the tokenising path: a reused statement is compiled once.
_SIMILAR_CARDS = select(func.count(func.distinct(CardRecord.fingerprint))).where(
    CardRecord.marketplace_id == bindparam("marketplace"),
    CardRecord.livemode == bindparam("livemode"),
    CardRecord.bin == bindparam("bin"),
    CardRecord.last4 == bindparam("last4"),
    CardRecord.created_at > bindparam("since"),
    CardRecord.fingerprint != bindparam("fingerprint"),
)


def count_similar_cards(
    conn: Connection, marketplace: str, livemode: bool, pan: Pan, fingerprint: str, since: int
) -> int:
    """Other cards (by fingerprint) of this marketplace and mode sharing the PAN's BIN and
    last four, tokenised since `since`."""
    values = {
        "marketplace": marketplace,
        "livemode": livemode,
        "bin": pan.bin,
        "last4": pan.last4,
        "since": since,
        "fingerprint": fingerprint,
    }
    return conn.execute(_SIMILAR_CARDS, values).scalar() or 0
