"""The query of a list, as Stripe's lists take it: cursors, `created`, filters, `expand`.

Read here, the page is fetched by the feature's store (api.store.queries.fetch_page).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from api.ids import well_formed
from api.store.queries import Page
from servicekit import ServiceError
from servicekit.body import read_query

LIST_PARAMETERS = ("limit", "starting_after", "ending_before", "created", "expand")
RANGES = ("gt", "gte", "lt", "lte")


def query(request: Request, *allowed: str) -> dict[str, Any]:
    """The query string, read as the body contract reads a form; an unknown name is a 400."""
    params = read_query(request.scope.get("query_string", b""))
    for name in params:
        if name not in allowed:
            raise ServiceError(
                f"Received unknown parameter: {name[:40]}.", code="parameter_unknown", param=name
            )
    return params


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise ServiceError(f"{name} must be a single value.", param=name)
    return value


def _integer(value: Any, name: str) -> int | None:
    # ASCII only: int() would also take digits of other scripts.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    return None


def page_params(params: dict[str, Any]) -> Page:
    limit = _integer(params.get("limit", "10"), "limit")
    if limit is None or not 1 <= limit <= 100:
        raise ServiceError("limit must be an integer from 1 to 100.", param="limit")
    after, before = _text(params, "starting_after"), _text(params, "ending_before")
    for name, cursor in (("starting_after", after), ("ending_before", before)):
        if cursor is not None and not well_formed(cursor):
            raise ServiceError(f"{name} must be the id of an object in this list.", param=name)
    if after is not None and before is not None:
        raise ServiceError("Pass starting_after or ending_before, not both.", param="ending_before")
    return Page(limit, after, before, created_range(params))


# 9999-12-31T23:59:59Z, the last second a date can hold.
LAST_SECOND = 253_402_300_799


def created_range(params: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    """`created=T` or `created[gt|gte|lt|lte]=T`, in Unix seconds."""
    created = params.get("created")
    if created is None:
        return ()
    if isinstance(created, str):
        created = {"eq": created}
    if not isinstance(created, dict):
        raise ServiceError("created must be a timestamp or a range.", param="created")
    bounds = []
    for op, value in created.items():
        moment = _integer(value, "created")
        if moment is not None and moment > LAST_SECOND:
            moment = None  # past the year 9999: no date, so no such time
        if op not in (*RANGES, "eq") or moment is None:
            param = "created" if op == "eq" else f"created[{op[:8]}]"
            raise ServiceError(
                "created takes a Unix timestamp, or gt, gte, lt, lte of one.", param=param
            )
        bounds.append((op, moment))
    return tuple(bounds)


def query_filter(
    params: dict[str, Any], name: str, choices: tuple[str, ...] | None = None
) -> str | None:
    """An optional filter: an id (anything else cannot match) or one of `choices`."""
    value = _text(params, name)
    if value is None:
        return None
    if choices is not None:
        if value not in choices:
            raise ServiceError(f"{name} must be one of: {', '.join(choices)}.", param=name)
    elif not well_formed(value):
        raise ServiceError(f"{name} is not a valid id.", param=name)
    return value


def text_filter(params: dict[str, Any], name: str, max_length: int) -> str | None:
    value = _text(params, name)
    if value is not None and (len(value) > max_length or "\x00" in value):
        raise ServiceError(f"{name} must be at most {max_length} characters.", param=name)
    return value


def expand_params(params: dict[str, Any], allowed: set[str], listing: bool = False) -> set[str]:
    """`expand[]=customer`, `expand[0]=customer` or `expand=customer`; in lists,
    `expand[]=data.customer`. `params` is the query, or a POST's body."""
    asked = params.get("expand", [])
    if isinstance(asked, str):
        asked = [asked]
    if not isinstance(asked, list) or not all(isinstance(name, str) for name in asked):
        raise ServiceError("expand must be a list of field names.", param="expand")
    wanted = set()
    for name in asked:
        field = name.removeprefix("data.") if listing else name
        if field not in allowed or (listing and not name.startswith("data.")):
            choices = ", ".join(sorted(("data." if listing else "") + a for a in allowed))
            raise ServiceError(
                f"This object cannot expand '{name[:40]}'; it can expand: {choices or 'nothing'}.",
                param="expand",
            )
        wanted.add(field)
    return wanted


def listing(request: Request, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """A list's body from the JSON of its objects (the charge routes build theirs so)."""
    return {"object": "list", "data": data, "has_more": has_more, "url": request.url.path}
