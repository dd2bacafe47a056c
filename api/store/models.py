"""The API stack's tables. Card numbers never appear here: cards are vault tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from api.domain.states import (
    ChargeStatus,
    DeliveryStatus,
    EndpointStatus,
    KeyKind,
    RecoveryPoint,
    RefundStatus,
    ReviewClosedReason,
    ReviewReason,
)

Id = Annotated[str, mapped_column(String(64), primary_key=True)]
Ref = Annotated[str, mapped_column(String(64), index=True)]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
Money = Annotated[int, mapped_column(BigInteger)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        dt.datetime: DateTime(timezone=True),
    }


class Marketplace(Base):
    __tablename__ = "marketplaces"

    id: Mapped[Id]
    name: Mapped[str] = mapped_column(String(200))
    created: Mapped[Timestamp] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    # HMAC-SHA256 of the key under the stack's key-hash secret; the key itself is not kept.
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(ForeignKey("marketplaces.id"), index=True)
    kind: Mapped[KeyKind] = mapped_column(String(16))
    created: Mapped[Timestamp] = mapped_column(default=utcnow)
    # Set when the key is rolled: it works until then (the overlap), never after.
    expires_at: Mapped[dt.datetime | None]


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    email: Mapped[str | None] = mapped_column(String(512))
    name: Mapped[str | None] = mapped_column(String(256))
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    default_card: Mapped[str | None] = mapped_column(String(64))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class CustomerCard(Base):
    """A card token attached to a customer, with the vault's metadata of it (never a PAN)."""

    __tablename__ = "customer_cards"

    id: Mapped[Id]  # the vault's card token; a token belongs to one customer at most
    marketplace_id: Mapped[Ref]
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    brand: Mapped[str] = mapped_column(String(16))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(64))
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class Charge(Base):
    __tablename__ = "charges"
    __table_args__ = (Index("ix_charges_recovery", "recovery_point", "recovery_at"),)

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    card: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[ChargeStatus] = mapped_column(String(32))
    capture: Mapped[bool] = mapped_column(Boolean, default=True)  # as asked at creation
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    # Pending refunds hold their amount here, so refunds together never pass the capture.
    refund_reserved: Mapped[int] = mapped_column(BigInteger, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    authorization_code: Mapped[str | None] = mapped_column(String(32))
    fraud_score: Mapped[int | None]
    fraud_decision: Mapped[str | None] = mapped_column(String(16))
    fraud_reasons: Mapped[list[str]] = mapped_column(default=list)
    fraud_risk_level: Mapped[str | None] = mapped_column(String(16))
    # The rule that decided, as the fraud service named it: {id, action, predicate}.
    fraud_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)
    # Where a crash would leave the charge (api.charges.service lists the points).
    recovery_point: Mapped[RecoveryPoint] = mapped_column(String(20), default="recorded")
    # When it reached that point: the completer takes what has stayed there too long.
    recovery_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # What finishing it needs: the clearance to resend, or the capture or void asked for.
    recovery: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Bumped by every move of the status or the recovery point: each move is a
    # compare-and-set on it, so of two drivers (a request, a completer) one acts.
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Review(Base):
    """A charge held for a person: authorised, not captured, until approved or rejected."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_open", "marketplace_id", "open", "created"),)

    id: Mapped[Id]
    marketplace_id: Mapped[str] = mapped_column(String(64))
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), index=True)
    open: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[ReviewReason] = mapped_column(String(16))
    rule_id: Mapped[str | None] = mapped_column(String(64))
    closed_reason: Mapped[ReviewClosedReason | None] = mapped_column(String(32))
    closed_at: Mapped[dt.datetime | None]
    created: Mapped[Timestamp] = mapped_column(default=utcnow)


class Refund(Base):
    __tablename__ = "refunds"
    # One release of a charge at a time: a second (another key's) is refused, not made.
    __table_args__ = (
        Index(
            "ix_refunds_one_release",
            "charge_id",
            unique=True,
            sqlite_where=text("release AND status <> 'failed'"),
            postgresql_where=text("release AND status <> 'failed'"),
        ),
    )

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    charge_id: Mapped[str] = mapped_column(ForeignKey("charges.id"), index=True)
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(String(32))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[RefundStatus] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)
    # Releases an authorisation (a void), refunding nothing at the network.
    release: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Event(Base):
    __tablename__ = "events"

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(1000))
    enabled_events: Mapped[list[str]]
    status: Mapped[EndpointStatus] = mapped_column(String(16))
    # The signing secret is derived from the stack's secret and this version, never stored.
    secret_version: Mapped[int] = mapped_column(Integer, default=1)
    # Set by a roll asked to keep the old secret (version - 1) signing too, until then.
    previous_secret_expires_at: Mapped[dt.datetime | None]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class WebhookDelivery(Base):
    """One event owed to one endpoint: written with the event, so none is ever lost."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    # A worker holds a delivery until this moment; past it, another may take it over.
    lease_until: Mapped[dt.datetime | None]
    last_attempt_at: Mapped[dt.datetime | None]
    last_response_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("marketplace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))  # its digest (api.idempotency.stored_key)
    request_hash: Mapped[str] = mapped_column(String(64))
    # NULL while the first request with this key is still being processed.
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)
    # When the request holding the key began (or took it over from one that died).
    locked_at: Mapped[dt.datetime | None]
    # The process holding the key (api.store.leases): once its lease lapses, a retry
    # takes the key over without waiting for the lock to time out.
    owner: Mapped[str | None] = mapped_column(String(64))


class Lease(Base):
    """A live API process: renewed every few seconds; lapsed, its claims are free."""

    __tablename__ = "api_leases"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[Timestamp]
