"""Cursor pagination and `expand`, as Stripe's lists have them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.requests import Request

from api.ids import well_formed
from strongroom.web import NotFound, ServiceError


class Listable(Protocol):
    id: Any
    marketplace_id: Any
    created: Any


Row = TypeVar("Row")


@dataclass(frozen=True)
class Page:
    limit: int
    starting_after: str | None
    ending_before: str | None


def page_params(request: Request) -> Page:
    params = request.query_params
    raw = params.get("limit", "10")
    # ASCII only: int() would also take digits of other scripts.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise ServiceError("limit must be an integer from 1 to 100.", param="limit")
    after, before = params.get("starting_after"), params.get("ending_before")
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is not None and not well_formed(cursor):
            raise ServiceError(f"{name} must be the id of an object in this list.", param=name)
    if after is not None and before is not None:
        raise ServiceError("Pass starting_after or ending_before, not both.", param="ending_before")
    return Page(int(raw), after, before)


def query_filter(request: Request, name: str, choices: tuple[str, ...] | None = None) -> str | None:
    """An optional filter: an id (anything else cannot match) or one of `choices`."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if choices is not None:
        if value not in choices:
            raise ServiceError(f"{name} must be one of: {', '.join(choices)}.", param=name)
    elif not well_formed(value):
        raise ServiceError(f"{name} is not a valid id.", param=name)
    return value


def text_filter(request: Request, name: str, max_length: int) -> str | None:
    value = request.query_params.get(name)
    if value is not None and (len(value) > max_length or "\x00" in value):
        raise ServiceError(f"{name} must be at most {max_length} characters.", param=name)
    return value


def fetch_page(
    session: Session,
    model: type[Row],
    marketplace_id: str,
    page: Page,
    *where: ColumnElement[bool],
) -> tuple[list[Row], bool]:
    """Newest first. `starting_after`: older than that object; `ending_before`: newer."""
    m: Any = model
    created: InstrumentedAttribute[Any] = m.created
    query = select(model).where(m.marketplace_id == marketplace_id, *where)
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


def expand_params(request: Request, allowed: set[str], listing: bool = False) -> set[str]:
    """`expand[]=customer` (or `expand=customer`); in lists, `expand[]=data.customer`."""
    asked = [v for k, v in request.query_params.multi_items() if k in ("expand", "expand[]")]
    wanted = set()
    for name in asked:
        field = name.removeprefix("data.") if listing else name
        if field not in allowed or (listing and not name.startswith("data.")):
            choices = ", ".join(sorted(("data." if listing else "") + a for a in allowed))
            raise ServiceError(
                f"This object cannot expand '{name[:40]}'; it can expand: {choices}.",
                param="expand",
            )
        wanted.add(field)
    return wanted


def listing(request: Request, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": request.url.path}
