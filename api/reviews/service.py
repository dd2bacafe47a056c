"""Reviews: a held charge is authorised, not captured; a person approves (capture) or
rejects (void), and a review left open too long closes by the stack's standing choice.

Each opening and closing records `review.opened` / `review.closed` in the transaction
that moves the charge, so its webhook is never lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.charges.moves import move_charge, settled_at_vault, settled_by
from api.clients.fraud import FraudClient
from api.clients.vault import VaultClient
from api.contracts import Charge as ChargeOut
from api.contracts import ListOf
from api.contracts import Review as ReviewOut
from api.domain.states import ReviewClosedReason, ReviewReason
from api.events import record_event
from api.ids import new_id
from api.presenters import as_charge, as_review, body
from api.reviews import store
from api.store.models import Charge, Review, utcnow
from servicekit import ServiceError

log = logging.getLogger("api.reviews")


class ReviewService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        vault: VaultClient,
        fraud: FraudClient,
        livemode: bool,
    ) -> None:
        self._sessions = sessions
        self._vault = vault
        self._fraud = fraud
        self._livemode = livemode

    def hold(
        self, charge: Charge, reason: ReviewReason, rule: dict[str, Any] | None, **changes: Any
    ) -> ChargeOut:
        """Move the just-authorised charge to pending_review and open its review; the
        charge as the charge service (api.charges.service) answers with it."""
        with self._sessions.begin() as session:
            review = Review(
                id=new_id("prv"),
                marketplace_id=charge.marketplace_id,
                charge_id=charge.id,
                open=True,
                reason=reason,
                rule_id=rule["id"] if rule else None,
                created=utcnow(),
            )
            if not move_charge(
                session, charge, "pending_review", self._livemode, review_id=review.id, **changes
            ):
                return as_charge(session.get_one(Charge, charge.id), self._livemode)
            session.add(review)
            session.flush()
            record_event(
                session,
                charge.marketplace_id,
                "review.opened",
                body(as_review(review, charge, self._livemode)),
            )
            return as_charge(charge, self._livemode)

    def retrieve(self, marketplace_id: str, review_id: str) -> ReviewOut:
        with self._sessions() as session:
            review, charge = store.review(session, marketplace_id, review_id)
        return as_review(review, charge, self._livemode)

    def list(
        self, marketplace_id: str, open_only: bool, reason: str | None, limit: int, url: str
    ) -> ListOf[ReviewOut]:
        """Open reviews (or all), oldest first: the queue a person works through."""
        with self._sessions() as session:
            rows = store.queue(session, marketplace_id, open_only, reason, limit)
        data = [as_review(review, charge, self._livemode) for review, charge in rows]
        return ListOf[ReviewOut](data=data, has_more=False, url=url)

    def _close(
        self, review: Review, charge: Charge, new: str, why: ReviewClosedReason, **changes: Any
    ) -> ReviewOut:
        with self._sessions.begin() as session:
            if not move_charge(session, charge, new, self._livemode, **changes):
                raise ServiceError(
                    "The review was closed meanwhile.", code="review_closed", status_code=400
                )
            row = session.get_one(Review, review.id)
            row.open, row.closed_reason, row.closed_at = False, why, utcnow()
            closed = as_review(row, charge, self._livemode)
            record_event(session, charge.marketplace_id, "review.closed", body(closed))
            return closed

    def _open(self, marketplace_id: str, review_id: str) -> tuple[Review, Charge]:
        with self._sessions() as session:
            review, charge = store.review(session, marketplace_id, review_id)
        if not review.open or charge.status != "pending_review":
            raise ServiceError(
                f"Review {review.id} is closed ({review.closed_reason}).",
                code="review_closed",
                status_code=400,
            )
        return review, charge

    def approve(
        self, marketplace_id: str, review_id: str, why: ReviewClosedReason = "approved"
    ) -> ReviewOut:
        """Capture the held authorisation (the vault executes a capture once per charge),
        only with a fresh clearance from fraud: unreachable or refusing, nothing moves."""
        review, charge = self._open(marketplace_id, review_id)
        approval = self._fraud.approve(
            {
                "charge_id": charge.id,
                "marketplace": marketplace_id,
                "card": charge.card,
                "amount": charge.amount,
                "currency": charge.currency,
            },
            actor=f"review:{why}",
        )
        settled_at_vault(
            self._sessions,
            charge,
            "capture",
            charge.amount,
            # The vault captures a held charge only with fraud's approval (it checks it).
            lambda: self._vault.capture(
                charge.id, marketplace_id, charge.amount, approval.model_dump()
            ),
            why=why,
            unconfirmed="The capture could not be confirmed; retry the approval.",
            refused="The capture was declined.",
            code="capture_declined",
        )
        return self._close(review, charge, "succeeded", why, amount_captured=charge.amount)

    def reject(
        self,
        marketplace_id: str,
        review_id: str,
        block_card: bool = False,
        why: ReviewClosedReason = "rejected",
        key: str | None = None,
    ) -> ReviewOut:
        """Void the held authorisation; with block_card, the card joins @blocked_cards.
        `key`: the mark of the Idempotency-Key a charge's cancel came under, kept with the
        charge so that a retry of that cancel whose answer was lost gets the charge."""
        review, charge = self._open(marketplace_id, review_id)
        recovery = None
        if charge.authorization_code is not None:
            settled_at_vault(
                self._sessions,
                charge,
                "void",
                0,
                lambda: self._vault.void(charge.id, marketplace_id),
                why=why,
                key=key,
                unconfirmed="The void could not be confirmed; retry the rejection.",
                refused="The card network refused to release the authorisation.",
                code="void_declined",
            )
            recovery = settled_by(charge, "void")
        if block_card:
            self._block_card(charge)
        return self._close(review, charge, "canceled", why, recovery=recovery)

    def _block_card(self, charge: Charge) -> None:
        fingerprint = self._vault.card(charge.card, charge.marketplace_id).fingerprint
        lists = self._fraud.manage("GET", "/v1/fraud/value_lists", charge.marketplace_id, "review")
        blocked = next(v["id"] for v in lists["data"] if v["alias"] == "blocked_cards")
        try:
            self._fraud.manage(
                "POST",
                "/v1/fraud/value_list_items",
                charge.marketplace_id,
                "review",
                {"value_list": blocked, "value": fingerprint},
            )
        except ServiceError as exc:
            if exc.code != "item_exists":
                raise

    def _timeout_policy(
        self, marketplace_id: str, older_than: dt.timedelta, action: str
    ) -> tuple[dt.timedelta, str]:
        """The marketplace's own review timeout and action (fraud's settings), else ours."""
        answer = self._fraud.manage("GET", "/v1/fraud/settings", marketplace_id, "review-timeout")
        seconds, chosen = answer.get("review_timeout_seconds"), answer.get("review_timeout_action")
        return (
            dt.timedelta(seconds=seconds) if isinstance(seconds, int) else older_than,
            chosen if chosen in ("approve", "reject") else action,
        )

    def close_expired(
        self, older_than: dt.timedelta, action: str, now: dt.datetime | None = None
    ) -> int:
        """Close reviews open past their marketplace's timeout by its action (approve or
        reject); `older_than` and `action` for a marketplace that set none. Returns how many
        were due."""
        now = now or utcnow()
        with self._sessions() as session:
            marketplaces = store.with_open_reviews(session)
        due_count = 0
        for marketplace_id in marketplaces:
            try:
                timeout, chosen = self._timeout_policy(marketplace_id, older_than, action)
            except ServiceError as exc:  # no policy known: close nothing of it, ask next round
                log.warning("review timeout of %s unknown: %s", marketplace_id, exc.code)
                continue
            with self._sessions() as session:
                due = store.opened_before(session, marketplace_id, now - timeout, limit=50)
            due_count += len(due)
            for review in due:
                try:
                    if chosen == "approve":
                        try:
                            self.approve(review.marketplace_id, review.id, "timed_out_approved")
                            continue
                        except ServiceError as exc:
                            # Fraud would not clear it (e.g. the card is blocked now): a hold
                            # nobody may capture is released rather than kept for ever.
                            if exc.code != "approval_refused":
                                raise
                    self.reject(review.marketplace_id, review.id, why="timed_out_rejected")
                except ServiceError as exc:  # retried at the next round
                    log.warning("review %s not closed on timeout: %s", review.id, exc.code)
        return due_count
