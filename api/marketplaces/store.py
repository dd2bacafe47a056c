"""The queries of marketplaces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import Marketplace


def marketplace(session: Session, marketplace_id: str) -> Marketplace:
    """The caller's marketplace (its key named it: it exists)."""
    return session.get_one(Marketplace, marketplace_id)


def every_marketplace(session: Session) -> list[Marketplace]:
    """Every marketplace this stack serves, oldest first."""
    return list(session.scalars(select(Marketplace).order_by(Marketplace.created)))
