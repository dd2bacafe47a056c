"""The charge's state machine as its services move it: compare-and-set on its revision,
the recovery points, the capture or void the vault confirms. Refunds and reviews move a
charge through it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.charges import store as rows
from api.charges.store import RECORDED
from api.clients.vault import VaultSettlement, VaultTimeout, VaultUnreachable
from api.events import record_event
from api.presenters import charge_json
from api.store.models import Charge
from servicekit import ServiceError, UpstreamError

__all__ = [
    "RECORDED",
    "advance_charge",
    "in_progress",
    "move_charge",
    "request_mark",
    "settled_at_vault",
    "settled_by",
    "settled_under",
]


def move_charge(session: Session, charge: Charge, new: str, livemode: bool, **changes: Any) -> bool:
    """Compare-and-set the charge from its current status to `new`, with its event, in the
    session's transaction; it is then at the recovery point `recorded`, nothing left
    unfinished. The charge path's own statement (api.charges.store.move): of two requests
    (or a request and the completer) racing to move one charge exactly one succeeds;
    False tells the loser."""
    event = rows.move(session.connection(), charge, new, **changes)
    if event is None:
        return False
    record_event(session, charge.marketplace_id, event, charge_json(charge, livemode))
    return True


def advance_charge(
    session: Session, charge: Charge, point: str, recovery: dict[str, Any] | None, **changes: Any
) -> bool:
    """Compare-and-set the charge to the recovery `point` (its status unchanged), keeping
    `recovery`, what finishing it from there needs; False if another got there first."""
    return rows.advance(session.connection(), charge, point, recovery, **changes)


def request_mark(seed: str | None) -> str | None:
    """A digest of an Idempotency-Key's claim (its seed names the marketplace, the key and
    this use of it): kept on a charge to know a retry of the request that settled it."""
    return hashlib.sha256(seed.encode()).hexdigest()[:32] if seed else None


def settled_by(charge: Charge, action: str) -> dict[str, Any] | None:
    """What a recorded charge keeps of the request whose capture or void it records (from
    the intent at `capture_requested`/`void_requested`): its key's mark and amount."""
    intent = charge.recovery or {}
    if charge.recovery_point != f"{action}_requested" or not intent.get("key"):
        return None
    return {"settled": action, "key": intent["key"], "amount": intent.get("amount")}


def settled_under(charge: Charge, action: str, mark: str | None, amount: int) -> bool:
    """Whether the charge's capture or void was recorded for a request under this key's
    `mark` (and `amount`): a retry of it, whose answer was lost, is answered the charge."""
    kept = charge.recovery or {}
    return (
        mark is not None
        and charge.recovery_point == RECORDED
        and kept.get("settled") == action
        and kept.get("key") == mark
        and kept.get("amount") == amount
    )


def settled_at_vault(
    sessions: sessionmaker[Session],
    charge: Charge,
    action: str,
    amount: int,
    settle: Callable[[], VaultSettlement],
    *,
    why: str | None = None,
    key: str | None = None,
    unconfirmed: str,
    refused: str,
    code: str,
) -> VaultSettlement:
    """A capture or void the vault confirms.

    The request is kept first, as the charge's recovery point (`capture_requested` or
    `void_requested`, with `amount`, `why` and `key`, the mark of its Idempotency-Key), so
    that a crash or an unanswered call leaves it for the completer, which records it with
    that key (see `settled_by`). Another request for the same capture or void, while one
    is requested, asks it again under the first one's intent (its key kept). An
    unanswered call, or a network that did not answer the vault (`processing_error`), is
    a retryable 502: the vault executes each once per charge. A network's refusal is a
    402 card error, and the request is dropped.
    """
    point = f"{action}_requested"
    intent: dict[str, Any] = {"amount": amount, "why": why, "key": key}
    if charge.recovery_point == point:
        kept = charge.recovery or {}
        if (kept.get("amount"), kept.get("why")) != (amount, why):
            raise in_progress(charge)
        intent = {**intent, "key": kept.get("key")}  # the request that asked first
    elif charge.recovery_point != RECORDED:
        raise in_progress(charge)
    with sessions.begin() as session:
        if not advance_charge(session, charge, point, intent):
            raise in_progress(charge)
    try:
        settled = settle()
    except (VaultUnreachable, VaultTimeout):
        raise UpstreamError(unconfirmed) from None
    except ServiceError as exc:
        if exc.code == "settlement_in_progress":  # the vault is executing it: not yet
            raise UpstreamError(unconfirmed) from None
        raise
    if settled.status != "succeeded":
        if settled.failure_code == "processing_error":  # not refused: the network was silent
            raise UpstreamError(unconfirmed)
        with sessions.begin() as session:
            advance_charge(session, charge, RECORDED, None)
        raise ServiceError(
            refused, code=settled.failure_code or code, type="card_error", status_code=402
        )
    return settled


def in_progress(charge: Charge) -> ServiceError:
    """409: another request is capturing or canceling the charge; a retry finds its end."""
    return ServiceError(
        f"Charge {charge.id} is being captured or canceled by another request; retry.",
        code="charge_in_progress",
        status_code=409,
    )
