"""The queries of reviews: the queue, one review with its charge, the ones past due."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.store.models import Charge, Review
from api.store.queries import owned


def review(session: Session, marketplace_id: str, review_id: str) -> tuple[Review, Charge]:
    """The marketplace's review (404 else) and the charge it holds."""
    found = owned(session, Review, review_id, marketplace_id, "id", "review")
    return found, session.get_one(Charge, found.charge_id)


def queue(
    session: Session, marketplace_id: str, open_only: bool, reason: str | None, limit: int
) -> list[tuple[Review, Charge]]:
    """Open reviews (or all), oldest first, each with its charge."""
    query = (
        select(Review, Charge)
        .join(Charge, Charge.id == Review.charge_id)
        .where(Review.marketplace_id == marketplace_id)
    )
    if open_only:
        query = query.where(Review.open.is_(True))
    if reason is not None:
        query = query.where(Review.reason == reason)
    rows = session.execute(query.order_by(Review.created, Review.id).limit(limit))
    return [(found, charge) for found, charge in rows.tuples()]


def with_open_reviews(session: Session) -> list[str]:
    """The marketplaces that have a review open."""
    return list(
        session.scalars(select(Review.marketplace_id).where(Review.open.is_(True)).distinct())
    )


def opened_before(
    session: Session, marketplace_id: str, moment: dt.datetime, limit: int
) -> list[Review]:
    """The marketplace's open reviews opened before `moment`, oldest first."""
    return list(
        session.scalars(
            select(Review)
            .where(
                Review.marketplace_id == marketplace_id,
                Review.open.is_(True),
                Review.created < moment,
            )
            .order_by(Review.created)
            .limit(limit)
        )
    )
