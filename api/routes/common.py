"""What every route needs: the stack's context, the caller, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.charging import ChargeService
from api.clients.vault import VaultClient
from api.config import Settings
from api.keys import Caller, authenticate, require_secret
from api.store.models import Charge, Event
from strongroom.web import NotFound, ServiceError


@dataclass
class Context:
    settings: Settings
    sessions: sessionmaker[Session]
    vault: VaultClient
    charges: ChargeService


async def caller(request: Request, *, secret: bool) -> Caller:
    ctx: Context = request.app.state.ctx

    def lookup() -> Caller:
        with ctx.sessions() as session:
            return authenticate(
                session,
                ctx.settings.key_hash_secret.get_secret_value(),
                ctx.settings.mode,
                request.headers.get("authorization"),
            )

    who = await run_in_threadpool(lookup)
    if secret:
        require_secret(who)
    return who


def page_params(request: Request) -> tuple[int, str | None]:
    raw = request.query_params.get("limit", "10")
    # ASCII only: int() would also take digits of other scripts.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise ServiceError("limit must be an integer from 1 to 100.", param="limit")
    return int(raw), request.query_params.get("starting_after")


Row = TypeVar("Row", Charge, Event)


def scoped_page(
    ctx: Context, model: type[Row], marketplace_id: str, limit: int, after: str | None
) -> tuple[list[Row], bool]:
    """Newest first; `after` is the id of the last object of the previous page."""
    with ctx.sessions() as session:
        query = select(model).where(model.marketplace_id == marketplace_id)
        if after is not None:
            anchor = session.get(model, after)
            if anchor is None or anchor.marketplace_id != marketplace_id:
                raise NotFound(f"No such object: '{after}'.", param="starting_after")
            query = query.where(
                (model.created < anchor.created)
                | ((model.created == anchor.created) & (model.id < anchor.id))
            )
        rows = list(
            session.scalars(query.order_by(model.created.desc(), model.id.desc()).limit(limit + 1))
        )
    return rows[:limit], len(rows) > limit
