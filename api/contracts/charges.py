"""Charges and cards: what a merchant sends and reads back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from api.contracts.common import CardToken, CustomerId, Metadata, Request, Resource, text
from api.domain.money import EXPONENTS, MAX_AMOUNT

ChargeStatus = Literal[
    "pending", "authorized", "succeeded", "failed", "blocked", "pending_review", "canceled"
]
if TYPE_CHECKING:
    Currency = str
else:
    Currency = Literal[tuple(sorted(EXPONENTS))]


class ChargeCreate(Request):
    card: CardToken | None = Field(
        default=None, description="A card token; optional with a customer that has one."
    )
    customer: CustomerId | None = Field(default=None, description="Charge this customer.")
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="In the currency's minor unit.")
    currency: Currency = Field(description="Lower-case ISO 4217 code.")
    capture: bool = Field(default=True, description="false: authorise only, and capture later.")
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _card_or_customer(self) -> ChargeCreate:
        if self.card is None and self.customer is None:
            raise ValueError("a charge needs a card or a customer")
        return self


class ChargeCapture(Request):
    amount: int | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, description="Default: the whole authorisation."
    )


class ChargeUpdate(Request):
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata | None = None


class FraudRuleRef(Resource):
    id: str
    action: str
    predicate: str


class FraudOutcome(Resource):
    score: int
    decision: Literal["allow", "review", "block"]
    reasons: list[str]
    risk_level: str | None = Field(default=None, description="normal, elevated or highest.")
    rule: FraudRuleRef | None = Field(default=None, description="The rule that decided.")


class Card(Resource):
    id: str
    object: Literal["card"] = "card"
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    customer: str | None = None
    livemode: bool


class Charge(Resource):
    id: str
    object: Literal["charge"] = "charge"
    amount: int
    amount_captured: int
    amount_refunded: int
    captured: bool
    refunded: bool
    currency: str
    card: str | Card = Field(description="The token, or the card with expand[]=card.")
    customer: str | Customer | None = Field(description="Expandable with expand[]=customer.")
    description: str | None
    metadata: dict[str, str]
    status: ChargeStatus
    failure_code: str | None
    failure_message: str | None
    authorization_code: str | None
    fraud: FraudOutcome | None
    review: str | None = Field(default=None, description="The review holding it (prv_…).")
    livemode: bool
    created: int


from api.contracts.customers import Customer  # noqa: E402  (Charge refers to it)

Charge.model_rebuild()
