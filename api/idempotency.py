"""Idempotency keys, as merchants know them: a replay returns the first response."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.store.models import IdempotencyRecord, utcnow
from strongroom.web import ServiceError

RETENTION = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Stored:
    status: int
    body: dict[str, Any]


def request_hash(path: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ServiceError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
            code="idempotency_key_invalid",
            param="Idempotency-Key",
        )


def begin(
    sessions: sessionmaker[Session], marketplace_id: str, key: str, digest: str
) -> Stored | None:
    """Claim the key for this request, or return the response stored under it."""
    with sessions.begin() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.marketplace_id == marketplace_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.created < utcnow() - RETENTION,
            )
        )
    try:
        with sessions.begin() as session:
            session.add(
                IdempotencyRecord(marketplace_id=marketplace_id, key=key, request_hash=digest)
            )
        return None
    except IntegrityError:
        pass  # the unique constraint decided: another request holds this key
    with sessions() as session:
        row = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.marketplace_id == marketplace_id, IdempotencyRecord.key == key
            )
        ).one()
    if row.request_hash != digest:
        raise ServiceError(
            "This Idempotency-Key was used with different parameters.",
            code="idempotency_key_reused",
            status_code=409,
        )
    if row.response_status is None or row.response_body is None:
        raise ServiceError(
            "A request with this Idempotency-Key is still being processed; retry later.",
            code="idempotency_key_in_flight",
            status_code=409,
        )
    return Stored(row.response_status, row.response_body)


def finish(sessions: sessionmaker[Session], marketplace_id: str, key: str, stored: Stored) -> None:
    with sessions.begin() as session:
        row = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.marketplace_id == marketplace_id, IdempotencyRecord.key == key
            )
        ).one()
        row.response_status = stored.status
        row.response_body = stored.body
