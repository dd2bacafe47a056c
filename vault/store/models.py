"""The vault's tables. Card numbers and CVCs exist here only as AES-GCM ciphertext."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Id = Annotated[str, mapped_column(String(64))]
Blob = Annotated[bytes, mapped_column(LargeBinary)]
# Unix seconds as integers: the same on SQLite and PostgreSQL, no naive datetimes.
UnixTime = Annotated[int, mapped_column(BigInteger)]


class Base(DeclarativeBase):
    pass


class MerchantKey(Base):
    """A merchant API key allowed to tokenise, stored only as its HMAC."""

    __tablename__ = "merchant_keys"

    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    marketplace_id: Mapped[Id] = mapped_column(index=True)
    livemode: Mapped[bool]
    kind: Mapped[str] = mapped_column(String(16))  # publishable | secret
    created_at: Mapped[UnixTime]
    # Set when the key is rolled: refused from this moment on (NULL: never expires).
    expires_at: Mapped[int | None] = mapped_column(BigInteger)


class CardRecord(Base):
    """One tokenised card: metadata in the clear, PAN and CVC sealed under the record's DEK."""

    __tablename__ = "cards"

    token: Mapped[Id] = mapped_column(primary_key=True)
    marketplace_id: Mapped[Id] = mapped_column(index=True)
    livemode: Mapped[bool]
    brand: Mapped[str] = mapped_column(String(16))
    bin: Mapped[str] = mapped_column(String(6))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(SmallInteger)
    exp_year: Mapped[int] = mapped_column(SmallInteger)
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    key_version: Mapped[int]
    wrapped_key: Mapped[Blob]
    pan_nonce: Mapped[Blob]
    pan_ciphertext: Mapped[Blob]
    # Nullable: the CVC is destroyed (set NULL) after the first authorisation attempt.
    cvc_nonce: Mapped[bytes | None] = mapped_column(LargeBinary)
    cvc_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[UnixTime]


class ChargeRecord(Base):
    """A charge execution; the primary key makes each charge id execute at most once."""

    __tablename__ = "charges"

    charge_id: Mapped[Id] = mapped_column(primary_key=True)
    token: Mapped[Id] = mapped_column(ForeignKey("cards.token"), index=True)
    marketplace_id: Mapped[Id]
    livemode: Mapped[bool]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))  # processing | succeeded | failed
    failure_code: Mapped[str | None] = mapped_column(String(64))
    authorization_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)


class SettlementRecord(Base):
    """The one capture or void of an authorised charge; the primary key makes it once only."""

    __tablename__ = "settlements"

    charge_id: Mapped[Id] = mapped_column(ForeignKey("charges.charge_id"), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))  # capture | void
    amount: Mapped[int] = mapped_column(BigInteger)  # captured; 0 for a void
    # Refunds reserve against `amount` here, atomically, before anything is sent.
    amount_refunded: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # processing | succeeded | failed
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)


class RefundRecord(Base):
    """A refund of a captured charge; the primary key makes each refund id execute once."""

    __tablename__ = "refunds"

    refund_id: Mapped[Id] = mapped_column(primary_key=True)
    charge_id: Mapped[Id] = mapped_column(ForeignKey("charges.charge_id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # processing | succeeded | failed
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
