"""What the services share: finding a marketplace's own object, moving a state machine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from api.clients.vault import VaultSettlement, VaultTimeout, VaultUnreachable
from api.domain.states import charge_event, refund_event
from api.events import record_event
from api.ids import well_formed
from api.presenters import charge_json, refund_json
from api.store.models import Charge, Refund
from strongroom.web import NotFound, ServiceError, UpstreamError


class Owned(Protocol):
    marketplace_id: str


Row = TypeVar("Row", bound=Owned)


def owned(
    session: Session, model: type[Row], object_id: str, marketplace_id: str, param: str, noun: str
) -> Row:
    """The marketplace's own object, or 404: another marketplace's (or mode's) does not exist."""
    row = session.get(model, object_id) if well_formed(object_id) else None
    if row is None or row.marketplace_id != marketplace_id or getattr(row, "deleted", False):
        raise NotFound(f"No such {noun}: '{object_id}'.", param=param)
    return row


def move_charge(session: Session, charge: Charge, new: str, livemode: bool, **changes: Any) -> bool:
    """Compare-and-set the charge from its current status to `new`, with its event.

    The UPDATE names the status it expects, so of two requests racing to move one charge
    exactly one succeeds (on SQLite and PostgreSQL alike); False tells the loser.
    """
    event = charge_event(charge.status, new)  # IllegalTransition before touching anything
    moved = session.execute(
        update(Charge)
        .where(Charge.id == charge.id, Charge.status == charge.status)
        .values(status=new, **changes)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    charge.status = new
    for name, value in changes.items():
        setattr(charge, name, value)
    record_event(session, charge.marketplace_id, event, charge_json(charge, livemode))
    return True


def move_refund(session: Session, refund: Refund, new: str, livemode: bool, **changes: Any) -> bool:
    event = refund_event(refund.status, new)
    moved = session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == refund.status)
        .values(status=new, **changes)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    refund.status = new
    for name, value in changes.items():
        setattr(refund, name, value)
    record_event(session, refund.marketplace_id, event, refund_json(refund, livemode))
    return True


def updated_metadata(
    current: dict[str, Any], given: dict[str, str] | None, fields_set: set[str]
) -> dict[str, Any]:
    """Stripe's update of metadata: keys merge, a key given "" is removed, and metadata
    given empty (`metadata=` in a form, null in JSON) clears it all."""
    if "metadata" not in fields_set:
        return current
    if given is None:
        return {}
    merged = {**current, **given}
    return {key: value for key, value in merged.items() if value != ""}


def settled_at_vault(
    settle: Callable[[], VaultSettlement], *, unconfirmed: str, refused: str, code: str
) -> None:
    """A capture or void the vault confirms: an unanswered call is a retryable 502 (the
    vault executes each once per charge), a network's refusal a 402 card error."""
    try:
        settled = settle()
    except (VaultUnreachable, VaultTimeout):
        raise UpstreamError(unconfirmed) from None
    if settled.status != "succeeded":
        raise ServiceError(
            refused, code=settled.failure_code or code, type="card_error", status_code=402
        )
