"""The charges table as the charge path reads and moves it: Core statements built once.

A charge is read, stored and moved several times a request. Through the ORM each of
those built its statement, its cache key and a unit of work per call, which cost more CPU
than the database spent running them; here each statement is built once, with bound
parameters, and run on a plain connection: a single statement in autocommit (atomic by
itself, no BEGIN and no COMMIT), a move and its event in one transaction. Rows become
`Charge` objects that no session holds, as the rest of the API's services take them.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Row,
    Select,
    String,
    Table,
    bindparam,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, array

from api.contracts import Charge as ChargeObject
from api.domain.states import charge_event
from api.idempotency import Carried, finish_params
from api.ids import new_id
from api.store.models import (
    Charge,
    Event,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from api.webhooks.deliveries import QUEUED

# The recovery point of a charge with nothing left to do (api.charges.service lists all).
RECORDED = "recorded"

_TABLE = typing.cast(Table, Charge.__table__)
# Attribute name to column key: only `metadata_` differs (`metadata` is the ORM's own).
_COLUMN = {attr.key: attr.columns[0].key for attr in Charge.__mapper__.column_attrs}
_ATTRIBUTE = {column: attr for attr, column in _COLUMN.items()}

_LOAD = select(_TABLE).where(_TABLE.c.id == bindparam("charge_id"))
_INSERT = insert(_TABLE)
# Compare-and-set: the SET clause is what the call passes; the expected status and
# revision are bound under names of their own (a column's name is its SET parameter).
_MOVE = update(_TABLE).where(
    _TABLE.c.id == bindparam("was_id"),
    _TABLE.c.status == bindparam("was_status"),
    _TABLE.c.revision == bindparam("was_revision"),
)
_UNFINISHED = (
    select(_TABLE)
    .where(
        _TABLE.c.recovery_point.in_(bindparam("points", expanding=True)),
        _TABLE.c.recovery_at < bindparam("before"),
    )
    .order_by(_TABLE.c.recovery_at)
    .limit(bindparam("batch"))
)
_POSTPONE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("was_id"), _TABLE.c.revision == bindparam("was_revision"))
    .values(recovery_at=bindparam("now"))
)


def charge_of(row: Row[Any]) -> Charge:
    """A row as a `Charge` object held by no session."""
    return Charge(**{_ATTRIBUTE[key]: value for key, value in row._mapping.items()})


def load(connection: Connection, charge_id: str) -> Charge | None:
    row = connection.execute(_LOAD, {"charge_id": charge_id}).one_or_none()
    return None if row is None else charge_of(row)


def store(connection: Connection, charge: Charge) -> None:
    """Insert a new charge (IntegrityError if its id is stored already). What it lacks is
    left out, so stored as SQL NULL, as the ORM stores it (a None bound to a JSON column
    would be JSON's null)."""
    values = {column: getattr(charge, attr) for attr, column in _COLUMN.items()}
    connection.execute(_INSERT, {k: v for k, v in values.items() if v is not None})


def _compare_and_set(connection: Connection, charge: Charge, values: dict[str, Any]) -> bool:
    params = {_COLUMN[name]: value for name, value in values.items()}
    params.update(was_id=charge.id, was_status=charge.status, was_revision=charge.revision)
    if not connection.execute(_MOVE, params).rowcount:
        return False
    for name, value in values.items():
        setattr(charge, name, value)
    return True


def advance(
    connection: Connection,
    charge: Charge,
    point: str,
    recovery: dict[str, Any] | None,
    **changes: Any,
) -> bool:
    """Compare-and-set the charge to the recovery `point` (its status unchanged), keeping
    `recovery`, what finishing it from there needs; False if another got there first."""
    values = {
        "recovery_point": point,
        "recovery_at": utcnow(),
        "recovery": recovery,
        "revision": charge.revision + 1,
        **changes,
    }
    return _compare_and_set(connection, charge, values)


def move(connection: Connection, charge: Charge, new: str, **changes: Any) -> str | None:
    """Compare-and-set the charge from its status to `new`, at the recovery point
    `recorded`; the event it owes (the caller records it in the same transaction), or
    None if another request or the completer moved it first.

    The UPDATE names the status and revision it expects, so of two drivers of one charge
    exactly one succeeds, on SQLite and PostgreSQL alike."""
    event = charge_event(charge.status, new)  # IllegalTransition before touching anything
    values = {
        "status": new,
        "recovery_point": RECORDED,
        "recovery_at": utcnow(),
        "recovery": None,
        "revision": charge.revision + 1,
        **changes,
    }
    return event if _compare_and_set(connection, charge, values) else None


def unfinished(
    connection: Connection, points: tuple[str, ...], before: Any, batch: int
) -> list[Charge]:
    """Charges at one of the recovery `points` since before `before`, oldest first."""
    rows = connection.execute(
        _UNFINISHED, {"points": list(points), "before": before, "batch": batch}
    )
    return [charge_of(row) for row in rows]


def postpone(connection: Connection, charge: Charge, now: Any) -> None:
    """Move only the charge's recovery clock, if nobody moved the charge meanwhile."""
    connection.execute(
        _POSTPONE, {"was_id": charge.id, "was_revision": charge.revision, "now": now}
    )


_EVENTS = typing.cast(Table, Event.__table__)
_ENDPOINTS = typing.cast(Table, WebhookEndpoint.__table__)
_DELIVERIES = typing.cast(Table, WebhookDelivery.__table__)
_KEYS = typing.cast(Table, IdempotencyRecord.__table__)


@functools.cache
def _recorded_statement(columns: frozenset[str], keyed: bool) -> Select[tuple[int, int, int]]:
    """PostgreSQL: the compare-and-set of `columns`, the event and its deliveries, as one
    statement (data-modifying CTEs): atomic by itself, so sent in autocommit, one round
    trip where a transaction takes five. The event is written only if the charge moved,
    and a delivery for each endpoint subscribed to its type, named after the event and the
    endpoint (one delivery per pair); `keyed`, the request's Idempotency-Key keeps its
    answer too, if the charge moved and the request still holds the key (as
    api.idempotency.finish). Answers (moved, deliveries owed, keys finished). Built once
    per set of columns and keyed or not."""
    moved = (
        update(_TABLE)
        .where(
            _TABLE.c.id == bindparam("was_id"),
            _TABLE.c.status == bindparam("was_status"),
            _TABLE.c.revision == bindparam("was_revision"),
        )
        .values({column: bindparam(column, type_=_TABLE.c[column].type) for column in columns})
        .returning(_TABLE.c.id)
        .cte("moved")
    )
    marketplace = bindparam("event_marketplace", type_=String)
    event_type = bindparam("event_type", type_=String)
    now = bindparam("event_created", type_=DateTime(timezone=True))
    event = (
        insert(_EVENTS)
        .from_select(
            ["id", "marketplace_id", "type", "data", "created"],
            select(
                bindparam("event_id", type_=String),
                marketplace,
                event_type,
                bindparam("event_data", type_=JSON),
                now,
            ).select_from(moved),
        )
        .returning(_EVENTS.c.id)
        .cte("event")
    )
    endpoint = _ENDPOINTS.c
    owed = (
        insert(_DELIVERIES)
        .from_select(
            [
                "id",
                "marketplace_id",
                "endpoint_id",
                "event_id",
                "status",
                "attempts",
                "next_attempt_at",
                "created",
            ],
            select(
                literal("dlv_") + func.substr(func.md5(event.c.id + endpoint.id), 1, 24),
                marketplace,
                endpoint.id,
                event.c.id,
                literal("pending"),
                literal(0),
                now,
                now,
            )
            .select_from(event.join(_ENDPOINTS, true()))
            .where(
                endpoint.marketplace_id == marketplace,
                endpoint.status == "enabled",
                endpoint.deleted.is_(False),
                cast(endpoint.enabled_events, JSONB).has_any(array([literal("*"), event_type])),
            ),
        )
        .returning(_DELIVERIES.c.id)
        .cte("owed")
    )
    count_moved = select(func.count()).select_from(moved).scalar_subquery()
    count_owed = select(func.count()).select_from(owed).scalar_subquery()
    if not keyed:
        return select(count_moved, count_owed, literal(0))
    key = _KEYS.c
    finished = (
        update(_KEYS)
        .where(
            key.id == bindparam("key_record_id"),
            key.locked_at == bindparam("key_held_since", type_=key.locked_at.type),
            exists(select(moved.c.id)),
        )
        .values(
            response_status=bindparam("key_status", type_=key.response_status.type),
            response_body=bindparam("key_body", type_=key.response_body.type),
            locked_at=None,
        )
        .returning(key.id)
        .cte("finished")
    )
    count_finished = select(func.count()).select_from(finished).scalar_subquery()
    return select(count_moved, count_owed, count_finished)


def move_recorded(
    connection: Connection,
    charge: Charge,
    new: str,
    present: Callable[[Charge], ChargeObject],
    carried: Carried | None = None,
    **changes: Any,
) -> ChargeObject | None:
    """PostgreSQL: `move` and its event (with the charge as `present` shows it once
    moved) in one statement, with the finish of the request's key it `carried` (if the
    answer is known from the charge); the charge shown, or None if another request or the
    completer moved it first (the charge then as it was)."""
    event = charge_event(charge.status, new)  # IllegalTransition before touching anything
    now = utcnow()
    values = {
        "status": new,
        "recovery_point": RECORDED,
        "recovery_at": now,
        "recovery": None,
        "revision": charge.revision + 1,
        **changes,
    }
    was = {name: getattr(charge, name) for name in values}
    params = {_COLUMN[name]: value for name, value in values.items()}
    for name, value in values.items():
        setattr(charge, name, value)
    shown = present(charge)
    body = shown.shown()
    answer = None if carried is None else carried.take(body)
    statement_ = _recorded_statement(frozenset(params), answer is not None)
    if answer is not None:
        assert carried is not None
        params.update(finish_params(carried.claim, answer))
    params.update(
        was_id=charge.id,
        was_status=was["status"],
        was_revision=was["revision"],
        event_id=new_id("evt"),
        event_marketplace=charge.marketplace_id,
        event_type=event,
        event_data={"object": body},
        event_created=now,
    )
    moved, owed, finished = connection.execute(statement_, params).one()
    if not moved:
        for name, value in was.items():
            setattr(charge, name, value)
        return None
    if finished:
        assert carried is not None
        carried.kept = answer
    for _ in range(owed):
        QUEUED.add()  # the request wakes the worker: the statement has committed
    return shown
