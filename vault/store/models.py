"""The vault's tables. Card numbers and CVCs exist here only as AES-GCM ciphertext."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from vault.domain.states import Custody, Execution, KeyKind, SettlementAction, Tripped

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
    kind: Mapped[KeyKind] = mapped_column(String(16))
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
    status: Mapped[Execution] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    authorization_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    # The process working on it while `processing` (a random id per vault process) and until
    # when: past its lease a crash or lost answer left it, and the completer takes it over.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[int | None] = mapped_column(BigInteger)
    # Its clearance said `review`: a capture needs fraud's approval clearance too.
    held_for_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Captured with its authorisation, in one network message (a sale): a re-drive sends
    # the same message, and the capture is recorded with the charge's outcome.
    capture: Mapped[bool] = mapped_column(default=False, server_default=false())


class SettlementRecord(Base):
    """The one capture or void of an authorised charge; the primary key makes it once only."""

    __tablename__ = "settlements"

    charge_id: Mapped[Id] = mapped_column(ForeignKey("charges.charge_id"), primary_key=True)
    action: Mapped[SettlementAction] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)  # captured; 0 for a void
    # Refunds reserve against `amount` here, atomically, before anything is sent.
    amount_refunded: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[Execution] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    # The process working on it while `processing` (a random id per vault process) and until
    # when: past its lease a crash or lost answer left it, and the completer takes it over.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[int | None] = mapped_column(BigInteger)


class RefundRecord(Base):
    """A refund of a captured charge; the primary key makes each refund id execute once."""

    __tablename__ = "refunds"

    refund_id: Mapped[Id] = mapped_column(primary_key=True)
    charge_id: Mapped[Id] = mapped_column(ForeignKey("charges.charge_id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[Execution] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[UnixTime]
    completed_at: Mapped[int | None] = mapped_column(BigInteger)
    # The process working on it while `processing` (a random id per vault process) and until
    # when: past its lease a crash or lost answer left it, and the completer takes it over.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[int | None] = mapped_column(BigInteger)


class SpendControl(Base):
    """The circuit breaker and caps on live charges of one marketplace, or of all ("*")."""

    __tablename__ = "spend_controls"

    scope: Mapped[Id] = mapped_column(primary_key=True)
    breaker_open: Mapped[bool] = mapped_column(default=False)
    tripped: Mapped[Tripped | None] = mapped_column(String(16))  # the cap passed
    minute_cap: Mapped[int | None] = mapped_column(BigInteger)  # None: the configured cap
    total_cap: Mapped[int | None] = mapped_column(BigInteger)
    total_spent: Mapped[int] = mapped_column(BigInteger, default=0)


class SpendBucket(Base):
    """A scope's live volume in one second, in the slot `second % 60` (a ring of a minute)."""

    __tablename__ = "spend_buckets"

    scope: Mapped[Id] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    second: Mapped[UnixTime]
    amount: Mapped[int] = mapped_column(BigInteger)


class OperatorCommand(Base):
    """A signed operator command that was executed; its nonce as key: none runs twice."""

    __tablename__ = "operator_commands"

    nonce: Mapped[Id] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[UnixTime]


class AuditAnchor(Base):
    """An audit log's newest (seq, hash), by the log's identity: its first entry's hash."""

    __tablename__ = "audit_anchors"

    chain: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class VaultIdentity(Base):
    """The one row naming this vault: made at its first start, checked at every start.

    Commands name the vault and environment they are for (vault_operator.commands); the
    custody of the master key and the keyring's identity, once recorded, are never quietly
    changed by whoever can write the data directory (docs/vault.md, "Custody").
    """

    __tablename__ = "vault_identity"

    vault_id: Mapped[Id] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(String(32))
    custody: Mapped[Custody] = mapped_column(String(16))
    keyring: Mapped[str | None] = mapped_column(String(64))  # the local keyring's identity
    created_at: Mapped[UnixTime]


class OwedAuditEntry(Base):
    """An audit entry recorded with the change it describes, not yet in the audit log.

    Only for what must stand even while the log cannot be written: a card network's answer.
    The writer appends it to the log and deletes it here in one batch (vault.audit).
    """

    __tablename__ = "audit_owed"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    token: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(128))


# Rewrap finds records under old key versions; the CVC sweep, CVCs past their time; the
# spend cap metrics (vault_operator), the last minute's live charges.
Index("ix_cards_key_version", CardRecord.key_version)
Index(
    "ix_cards_cvc_kept",
    CardRecord.created_at,
    sqlite_where=CardRecord.cvc_ciphertext.is_not(None),
    postgresql_where=CardRecord.cvc_ciphertext.is_not(None),
)
Index("ix_charges_live_created", ChargeRecord.livemode, ChargeRecord.created_at)
# The completer looks for unfinished work often: only the few rows still processing.
for _table in (ChargeRecord, SettlementRecord, RefundRecord):
    Index(
        f"ix_{_table.__tablename__}_processing",
        _table.lease_until,
        sqlite_where=_table.status == "processing",
        postgresql_where=_table.status == "processing",
    )
# Tokenisation counts recent cards sharing a BIN and last four (card guessing).
Index(
    "ix_cards_bin_last4",
    CardRecord.marketplace_id,
    CardRecord.livemode,
    CardRecord.bin,
    CardRecord.last4,
    CardRecord.created_at,
)
