"""The queries every feature shares: a marketplace's own object, and a page of a list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Result, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.ids import well_formed
from servicekit import NotFound


class Owned(Protocol):
    marketplace_id: str


Row = TypeVar("Row", bound=Owned)
Listed = TypeVar("Listed")


def owned(
    session: Session, model: type[Row], object_id: str, marketplace_id: str, param: str, noun: str
) -> Row:
    """The marketplace's own object, or 404: another marketplace's (or mode's) does not exist."""
    row = session.get(model, object_id) if well_formed(object_id) else None
    if row is None or row.marketplace_id != marketplace_id or getattr(row, "deleted", False):
        raise NotFound(f"No such {noun}: '{object_id}'.", param=param)
    return row


def changed(result: Result[Any]) -> int:
    """How many rows an UPDATE changed: 0 tells a compare-and-set that another got there."""
    return cast(CursorResult[Any], result).rowcount


@dataclass(frozen=True)
class Page:
    """Which page of a list: at most `limit` objects, after or before a cursor, in a
    `created` range of (operator, Unix second) pairs (api.web.listing reads it)."""

    limit: int
    starting_after: str | None
    ending_before: str | None
    created: tuple[tuple[str, int], ...] = ()


def _created_where(m: Any, bounds: tuple[tuple[str, int], ...]) -> list[ColumnElement[bool]]:
    where = []
    for op, seconds in bounds:
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
        # Stored to the microsecond: "created[lte]=T" includes all of second T.
        if op == "eq":
            where += [m.created >= moment, m.created < moment + dt.timedelta(seconds=1)]
        elif op == "gt":
            where.append(m.created >= moment + dt.timedelta(seconds=1))
        elif op == "gte":
            where.append(m.created >= moment)
        elif op == "lt":
            where.append(m.created < moment)
        else:
            where.append(m.created < moment + dt.timedelta(seconds=1))
    return where


def fetch_page(
    session: Session,
    model: type[Listed],
    marketplace_id: str,
    page: Page,
    *where: ColumnElement[bool],
) -> tuple[list[Listed], bool]:
    """Newest first. `starting_after`: older than that object; `ending_before`: newer."""
    m: Any = model
    created: InstrumentedAttribute[Any] = m.created
    query = select(model).where(
        m.marketplace_id == marketplace_id, *where, *_created_where(m, page.created)
    )
    if hasattr(m, "deleted"):
        query = query.where(m.deleted.is_(False))
    cursor = page.starting_after or page.ending_before
    if cursor is not None:
        anchor = session.get(model, cursor) if well_formed(cursor) else None
        if anchor is None or getattr(anchor, "marketplace_id", None) != marketplace_id:
            param = "starting_after" if page.starting_after else "ending_before"
            raise NotFound(f"No such object: '{cursor}'.", param=param)
        a: Any = anchor
        older = (created < a.created) | ((created == a.created) & (m.id < a.id))
        newer = (created > a.created) | ((created == a.created) & (m.id > a.id))
        if page.ending_before is not None:
            rows = list(
                session.scalars(
                    query.where(newer).order_by(created.asc(), m.id.asc()).limit(page.limit + 1)
                )
            )
            return list(reversed(rows[: page.limit])), len(rows) > page.limit
        query = query.where(older)
    rows = list(session.scalars(query.order_by(created.desc(), m.id.desc()).limit(page.limit + 1)))
    return rows[: page.limit], len(rows) > page.limit
