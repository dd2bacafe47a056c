"""The API stack's tables. Card numbers never appear here: cards are vault tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Id = Annotated[str, mapped_column(String(64), primary_key=True)]
Ref = Annotated[str, mapped_column(String(64), index=True)]
Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True))]
Money = Annotated[int, mapped_column(BigInteger)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


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
    kind: Mapped[str] = mapped_column(String(16))  # "secret" or "publishable"
    created: Mapped[Timestamp] = mapped_column(default=utcnow)


class Charge(Base):
    __tablename__ = "charges"

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    card: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Money]
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(String(1000))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[str] = mapped_column(String(32))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(500))
    authorization_code: Mapped[str | None] = mapped_column(String(32))
    fraud_score: Mapped[int | None]
    fraud_decision: Mapped[str | None] = mapped_column(String(16))
    fraud_reasons: Mapped[list[str]] = mapped_column(default=list)
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class Event(Base):
    __tablename__ = "events"

    id: Mapped[Id]
    marketplace_id: Mapped[Ref]
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    created: Mapped[Timestamp] = mapped_column(default=utcnow, index=True)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("marketplace_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    # NULL while the first request with this key is still being processed.
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created: Mapped[Timestamp] = mapped_column(default=utcnow)
