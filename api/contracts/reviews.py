"""Reviews: charges held for a person, authorised and not captured until one decides."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.contracts.common import Request, Resource


class Review(Resource):
    id: str
    object: Literal["review"] = "review"
    charge: str
    open: bool
    reason: str = Field(description="rule, score or test_card: what opened it.")
    rule: str | None = Field(description="The review rule, when a rule opened it.")
    closed_reason: str | None = Field(
        description="approved, rejected, timed_out_approved, timed_out_rejected or canceled."
    )
    amount: int
    currency: str
    livemode: bool
    created: int
    closed: int | None


class ReviewApprove(Request):
    """Approve: capture the held authorisation."""


class ReviewReject(Request):
    block_card: bool = Field(
        default=False, description="Also add the card's fingerprint to @blocked_cards."
    )
