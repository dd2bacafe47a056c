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
- A key is stored as its SHA-256 digest (`stored_key`): a merchant may put anything in
  one, and the API needs it only to find it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from api.store.db import statement
from api.store.models import IdempotencyRecord, Lease, utcnow
from servicekit import ServiceError

RETENTION = dt.timedelta(hours=24)
# Longer than any request may take (the API's upstream timeouts are 20 s each).
LOCK_TIMEOUT = dt.timedelta(seconds=90)
MAX_KEY_LENGTH = 255
# An upstream (the vault, the fraud service) did not answer: a retry may well succeed.
RETRYABLE = frozenset({502, 503, 504})
# A 409 saying another request is moving the object right now: no outcome either.
IN_FLIGHT = frozenset({"charge_in_progress", "refund_in_progress"})


@dataclass(frozen=True)
class Stored:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Secrets:
    """How an answer showing a secret is kept under its key (`kept`: without it), and shown
    again from what was kept (`shown`: derived anew): the key's stored answers hold none."""

    kept: Callable[[dict[str, Any]], dict[str, Any]]
    shown: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Claim:
    """This request holds the key; `seed` names what it creates, the same on a takeover."""

    record_id: int
    seed: str
    # As stored: finish and release touch the key only while this request still holds it.
    locked_at: dt.datetime | None = field(default=None, compare=False)
    # The key's first use (not a takeover): nothing can have been made under its seed yet.
    first_use: bool = field(default=False, compare=False)


def kept(stored: Stored) -> bool:
    """Whether a response is an outcome to keep under the key (else the key is released)."""
    if stored.status in RETRYABLE:
        return False
    code = stored.body.get("error", {}).get("code") if stored.status == 409 else None
    return code not in IN_FLIGHT


def request_hash(method: str, path: str, query: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, query, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stored_key(key: str) -> str:
    """What the database keeps of a key: its digest. A merchant may put anything in a key
    (a card number, by mistake); finding it again needs no more than this."""
    return hashlib.sha256(key.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ServiceError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters.",
            code="idempotency_key_invalid",
            param="Idempotency-Key",
        )


def _statement(sessions: sessionmaker[Session]) -> AbstractContextManager[Connection]:
    """A connection of `sessions`' engine for one statement, in autocommit."""
    return statement(sessions.kw["bind"])


# Every statement is built once, with bound parameters: building one per call (its cache
# key above all) cost SQLAlchemy more CPU than sending and running it.
_ROW = (IdempotencyRecord.marketplace_id == bindparam("m"), IdempotencyRecord.key == bindparam("k"))


def _claim_statement() -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, as text both PostgreSQL and SQLite
    (3.35 and later) run: the dialects' own insert() constructs have no cache key, so
    SQLAlchemy compiled them again on every claim (some 0.1 ms of CPU each); a text
    statement is compiled once. Its parameters keep the columns' types."""
    assert IdempotencyRecord.__tablename__ == "idempotency_keys"
    columns = IdempotencyRecord.__table__.c
    sql = (
        "INSERT INTO idempotency_keys (marketplace_id, key, request_hash, created, locked_at, "
        "owner) VALUES (:m, :k, :digest, :now, :now, :held_by) "
        "ON CONFLICT (marketplace_id, key) DO NOTHING RETURNING id"
    )
    return text(sql).bindparams(
        bindparam("m", type_=columns.marketplace_id.type),
        bindparam("k", type_=columns.key.type),
        bindparam("digest", type_=columns.request_hash.type),
        bindparam("now", type_=columns.created.type),
        bindparam("held_by", type_=columns.owner.type),
    )


# The key's row, held by this request: nothing if the key has a row already.
_CLAIM = _claim_statement()
# The key's row as a retry reads it, with the lease of the process that holds it.
_READ = (
    select(
        IdempotencyRecord.id,
        IdempotencyRecord.created,
        IdempotencyRecord.request_hash,
        IdempotencyRecord.response_status,
        IdempotencyRecord.response_body,
        IdempotencyRecord.locked_at,
        IdempotencyRecord.owner,
        Lease.expires_at,
    )
    .outerjoin(Lease, Lease.owner == IdempotencyRecord.owner)
    .where(*_ROW)
)
# A row older than 24 hours, forgotten (unless another retry just did).
_FORGET = delete(IdempotencyRecord).where(
    IdempotencyRecord.id == bindparam("record_id"),
    IdempotencyRecord.created == bindparam("was_created"),
)


def _take_over(released: bool) -> Any:
    """Compare-and-set: of several retries after a crash or a release, one takes the claim
    over (a released claim's lock time is NULL, which `=` never matches)."""
    locked_at = IdempotencyRecord.locked_at
    was = locked_at.is_(None) if released else locked_at == bindparam("was_locked_at")
    return (
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == bindparam("record_id"),
            IdempotencyRecord.response_status.is_(None),
            was,
        )
        .values(locked_at=bindparam("now"), owner=bindparam("held_by"))
    )


# By whether the claim was released.
_TAKE_OVER = {released: _take_over(released) for released in (True, False)}


def _settle(held_since: bool, keep: bool) -> Any:
    """Keep the response (or SQL NULLs) while the claim is still this request's."""
    held = IdempotencyRecord.id == bindparam("record_id")
    if held_since:
        held = held & (IdempotencyRecord.locked_at == bindparam("held_since"))
    kept: dict[str, Any]
    if keep:
        kept = {
            "response_status": bindparam("stored_status"),
            "response_body": bindparam("stored_body"),
        }
    else:  # a None bound to the JSON column would be stored as JSON's null, not as NULL
        kept = {"response_status": None, "response_body": None}
    return update(IdempotencyRecord).where(held).values(**kept, locked_at=None)


# By (whether the claim has its lock time, whether a response is kept).
_SETTLE = {(since, keep): _settle(since, keep) for since in (True, False) for keep in (True, False)}


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
    stored = stored_key(key)
    for _ in range(2):
        with _statement(sessions) as connection:
            record_id: int | None = connection.execute(
                _CLAIM,
                {"m": marketplace_id, "k": stored, "digest": digest, "now": now, "held_by": owner},
            ).scalar()
            if record_id is not None:
                seed = _seed(marketplace_id, key, record_id, now)
                return Claim(record_id, seed, now, first_use=True)
            row = connection.execute(_READ, {"m": marketplace_id, "k": stored}).one_or_none()
            if row is None:  # finished and purged between our two statements: claim again
                continue
            if _as_utc(row.created) >= now - RETENTION:
                break
            # Older than 24 hours: forgotten, then claimed.
            connection.execute(_FORGET, {"record_id": row.id, "was_created": row.created})
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
            taken = connection.execute(
                _TAKE_OVER[row.locked_at is None],
                {"record_id": row.id, "was_locked_at": row.locked_at, "now": now, "held_by": owner},
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


def _keep(sessions: sessionmaker[Session], claim: Claim, stored: Stored | None) -> None:
    """Store `stored` (or nothing) under the key, while this request still holds it (no
    retry took it over), and unlock it."""
    with _statement(sessions) as connection:
        keep_on(connection, claim, stored)


@dataclass
class Carried:
    """A claim's finish carried by the write that records the outcome of what its request
    made (api.charges.service.settle: the same statement on PostgreSQL, the same
    transaction on SQLite): one round trip fewer, and the outcome and the key's answer
    stored together, or neither. `answer` is the response the request sends for that
    outcome (None: one the outcome alone does not decide, then finished as usual); `kept`,
    what was stored under the key with it."""

    claim: Claim
    answer: Callable[[dict[str, Any]], Stored | None] | None = None
    kept: Stored | None = None

    def take(self, outcome: dict[str, Any]) -> Stored | None:
        """The response to keep with `outcome` (the JSON of what the request made), once:
        a later write carries nothing."""
        answer, self.answer = self.answer, None
        if answer is None or self.claim.locked_at is None:
            return None
        stored = answer(outcome)
        return stored if stored is not None and kept(stored) else None


# The finish the current request's outcome may carry (set by api.web.idempotent's caller
# around the operation, in its worker thread's own context).
CARRIED: ContextVar[Carried | None] = ContextVar("strongroom_carried_finish", default=None)


@contextmanager
def carrying(carried: Carried | None) -> Iterator[None]:
    """Let the outcome recorded in the block carry `carried` (nothing if None)."""
    token = CARRIED.set(carried)
    try:
        yield
    finally:
        CARRIED.reset(token)


def finish_params(claim: Claim, stored: Stored) -> dict[str, Any]:
    """The bound values of a finish carried in another statement (api.charges.store)."""
    return {
        "key_record_id": claim.record_id,
        "key_held_since": claim.locked_at,
        "key_status": stored.status,
        "key_body": stored.body,
    }


def keep_on(connection: Connection, claim: Claim, stored: Stored | None) -> bool:
    """`_keep` on the connection (its transaction, or a statement of its own); whether the
    claim was still ours."""
    result = connection.execute(
        _SETTLE[claim.locked_at is not None, stored is not None],
        {
            "record_id": claim.record_id,
            "held_since": claim.locked_at,
            "stored_status": None if stored is None else stored.status,
            "stored_body": None if stored is None else stored.body,
        },
    )
    return bool(result.rowcount)


def finish(sessions: sessionmaker[Session], claim: Claim, stored: Stored) -> None:
    """Keep the response; a retry that took the claim over keeps its own instead."""
    _keep(sessions, claim, stored)


def release(sessions: sessionmaker[Session], claim: Claim) -> None:
    """Keep nothing: the next retry with this key takes the claim over, with its seed."""
    _keep(sessions, claim, None)


def purge_expired(sessions: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """Forget every key older than 24 hours; returns how many."""
    cutoff = (now or utcnow()) - RETENTION
    with sessions.begin() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created < cutoff)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
