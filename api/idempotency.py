"""Idempotency keys as Stripe has them: a replay returns the first response, whatever it was.

- The first request with a key claims it; its response (errors included) is kept 24 hours
  and returned to every retry with the same key and the same parameters.
- Except an answer that says an upstream did not answer (502, 503, 504), or that another
  request is moving the object (409 `charge_in_progress`): that is no outcome the
  merchant can act on, so the key is released and the next retry runs again, with the
  same `seed`, and gets the real outcome (a charge left pending is resumed).
- The same key with other parameters is 400 `idempotency_error` (Stripe's type, which its
  SDKs raise as IdempotencyError and never retry); while the first request is still
  running, a retry is 409 `idempotency_key_in_flight`, which they retry.
- A request refused before it ran (authentication, validation) stores nothing.
- A claim whose request died (a crashed process) is taken over by the next retry, which
  gets the same `seed` and so derives the same object ids: the vault sees the same charge
  id again and executes it at most once. A claim names its process (`owner`); once that
  process's lease has lapsed (api.store.leases) the claim is free, without an owner after
  LOCK_TIMEOUT.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from api.store.models import IdempotencyRecord, Lease, utcnow
from strongroom.web import ServiceError

RETENTION = dt.timedelta(hours=24)
# Longer than any request may take (the API's upstream timeouts are 20 s each).
LOCK_TIMEOUT = dt.timedelta(seconds=90)
MAX_KEY_LENGTH = 255
# An upstream (the vault, the fraud service) did not answer: a retry may well succeed.
RETRYABLE = frozenset({502, 503, 504})
# A 409 saying another request is moving the object right now: no outcome either.
IN_FLIGHT = frozenset({"charge_in_progress"})


@dataclass(frozen=True)
class Stored:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """This request holds the key; `seed` names what it creates, the same on a takeover."""

    record_id: int
    seed: str
    # As stored: finish and release touch the key only while this request still holds it.
    locked_at: dt.datetime | None = field(default=None, compare=False)


def kept(stored: Stored) -> bool:
    """Whether a response is an outcome to keep under the key (else the key is released)."""
    if stored.status in RETRYABLE:
        return False
    code = stored.body.get("error", {}).get("code") if stored.status == 409 else None
    return code not in IN_FLIGHT


def request_hash(method: str, path: str, query: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, query, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ServiceError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
            code="idempotency_key_invalid",
            param="Idempotency-Key",
        )


@contextmanager
def _statement(sessions: sessionmaker[Session]) -> Iterator[Connection]:
    """A connection for one statement, in autocommit: a single statement is atomic by
    itself, so it needs no BEGIN and no COMMIT (two round trips fewer on PostgreSQL)."""
    engine = sessions.kw["bind"]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        yield connection


def _claim_new(
    connection: Connection,
    marketplace_id: str,
    key: str,
    digest: str,
    now: dt.datetime,
    owner: str | None,
) -> int | None:
    """Insert the key's row held by this request; its id, or None if the key has a row."""
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(IdempotencyRecord)
        .values(
            marketplace_id=marketplace_id,
            key=key,
            request_hash=digest,
            created=now,
            locked_at=now,
            owner=owner,
        )
        .on_conflict_do_nothing(index_elements=["marketplace_id", "key"])
        .returning(IdempotencyRecord.id)
    )
    record_id: int | None = connection.execute(statement).scalar()
    return record_id


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _seed(marketplace_id: str, key: str, record_id: int, created: dt.datetime) -> str:
    """Unique to this use of the key: the row id, and its creation time, since SQLite
    reuses the id of a deleted row (a key recycled after 24 h must name new objects)."""
    micros = int(_as_utc(created).timestamp() * 1_000_000)
    return f"{marketplace_id}:{key}:{record_id}:{micros}"


def _in_flight() -> ServiceError:
    return ServiceError(
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency_key_in_flight",
        status_code=409,
    )


# The key's row as a retry reads it, with the lease of the process that holds it.
_HELD_BY = (
    IdempotencyRecord.id,
    IdempotencyRecord.created,
    IdempotencyRecord.request_hash,
    IdempotencyRecord.response_status,
    IdempotencyRecord.response_body,
    IdempotencyRecord.locked_at,
    IdempotencyRecord.owner,
    Lease.expires_at,
)


def begin(
    sessions: sessionmaker[Session],
    marketplace_id: str,
    key: str,
    digest: str,
    now: dt.datetime | None = None,
    owner: str | None = None,
) -> Stored | Claim:
    """Claim the key for this request (held by the process `owner`, if it keeps a lease),
    or return the response stored under it.

    A first use is one statement (an insert that the unique constraint turns into nothing
    when the key has a row); a retry reads the row and its holder's lease in one more."""
    now = now or utcnow()
    for _ in range(2):
        with _statement(sessions) as connection:
            record_id = _claim_new(connection, marketplace_id, key, digest, now, owner)
            if record_id is not None:
                return Claim(record_id, _seed(marketplace_id, key, record_id, now), now)
            row = connection.execute(
                select(*_HELD_BY)
                .outerjoin(Lease, Lease.owner == IdempotencyRecord.owner)
                .where(
                    IdempotencyRecord.marketplace_id == marketplace_id,
                    IdempotencyRecord.key == key,
                )
            ).one_or_none()
            if row is None:  # finished and purged between our two statements: claim again
                continue
            if _as_utc(row.created) >= now - RETENTION:
                break
            # Older than 24 hours: forgotten (unless another retry just did), then claimed.
            connection.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == row.id, IdempotencyRecord.created == row.created
                )
            )
    else:
        raise _in_flight()
    if row.request_hash != digest:
        raise ServiceError(
            "This Idempotency-Key was used with different parameters.",
            code="idempotency_key_reused",
            type="idempotency_error",
        )
    if row.response_status is not None and row.response_body is not None:
        return Stored(row.response_status, row.response_body)
    if _free(row.locked_at, row.owner, row.expires_at, now):
        with _statement(sessions) as connection:
            # Compare-and-set: of several retries after a crash or a release, one takes
            # the claim over.
            taken = connection.execute(
                update(IdempotencyRecord)
                .where(
                    IdempotencyRecord.id == row.id,
                    IdempotencyRecord.response_status.is_(None),
                    IdempotencyRecord.locked_at == row.locked_at,
                )
                .values(locked_at=now, owner=owner)
            )
        if taken.rowcount:
            return Claim(row.id, _seed(marketplace_id, key, row.id, row.created), now)
    raise _in_flight()


def _free(
    locked_at: dt.datetime | None,
    owner: str | None,
    lease_expires: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Whether no live request holds the claim: released, its process's lease lapsed, or
    (a claim without an owner) locked longer than any request takes."""
    if locked_at is None or _as_utc(locked_at) < now - LOCK_TIMEOUT:
        return True
    if owner is None:
        return False
    return lease_expires is None or _as_utc(lease_expires) < now


def _held(claim: Claim) -> Any:
    """The claim's row, while this request still holds it (no retry took it over)."""
    held = IdempotencyRecord.id == claim.record_id
    if claim.locked_at is not None:
        held = held & (IdempotencyRecord.locked_at == claim.locked_at)
    return held


def finish(sessions: sessionmaker[Session], claim: Claim, stored: Stored) -> None:
    """Keep the response; a retry that took the claim over keeps its own instead."""
    with _statement(sessions) as connection:
        connection.execute(
            update(IdempotencyRecord)
            .where(_held(claim))
            .values(response_status=stored.status, response_body=stored.body, locked_at=None)
        )


def release(sessions: sessionmaker[Session], claim: Claim) -> None:
    """Keep nothing: the next retry with this key takes the claim over, with its seed."""
    with _statement(sessions) as connection:
        connection.execute(
            update(IdempotencyRecord)
            .where(_held(claim))
            .values(response_status=None, response_body=None, locked_at=None)
        )


def purge_expired(sessions: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """Forget every key older than 24 hours; returns how many."""
    cutoff = (now or utcnow()) - RETENTION
    with sessions.begin() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created < cutoff)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
