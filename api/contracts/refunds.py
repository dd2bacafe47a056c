"""Refunds: part or all of a captured charge, never more."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.contracts.charges import Charge
from api.contracts.common import ChargeId, Metadata, Request, Resource
from api.domain.money import MAX_AMOUNT

RefundReason = Literal["duplicate", "fraudulent", "requested_by_customer"]


class RefundCreate(Request):
    charge: ChargeId
    amount: int | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, description="Default: all that is left to refund."
    )
    reason: RefundReason | None = None
    metadata: Metadata = Field(default_factory=dict)


class Refund(Resource):
    id: str
    object: Literal["refund"] = "refund"
    amount: int
    charge: str | Charge = Field(description="Expandable with expand[]=charge.")
    currency: str
    reason: RefundReason | None
    metadata: dict[str, str]
    status: Literal["pending", "succeeded", "failed"]
    failure_code: str | None
    failure_message: str | None
    livemode: bool
    created: int
