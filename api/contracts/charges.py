"""Charges and cards: what a merchant sends and reads back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from api.contracts.common import (
    CardToken,
    CustomerId,
    ListOf,
    Metadata,
    Request,
    Resource,
    text,
)
from api.domain.money import EXPONENTS, MAX_AMOUNT

# Stripe's three: an authorisation not yet captured is `succeeded` with `captured: false`.
ChargeStatus = Literal["succeeded", "pending", "failed"]
if TYPE_CHECKING:
    Currency = str
else:
    Currency = Literal[tuple(sorted(EXPONENTS))]


class ChargeCreate(Request):
    source: CardToken | None = Field(
        default=None,
        description="A card token, or a card of `customer`; optional with a customer that "
        "has a default source.",
    )
    card: CardToken | None = Field(
        default=None, description="Strongroom's older name for `source`."
    )
    customer: CustomerId | None = Field(default=None, description="Charge this customer.")
    amount: int = Field(gt=0, le=MAX_AMOUNT, description="In the currency's minor unit.")
    currency: Currency = Field(description="Lower-case ISO 4217 code.")
    capture: bool = Field(default=True, description="false: authorise only, and capture later.")
    description: text(1000) | None = None  # type: ignore[valid-type]
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _source_or_customer(self) -> ChargeCreate:
        if self.card is not None and self.source is not None:
            raise ValueError("pass source, or its older name card, not both")
        if self.token is None and self.customer is None:
            raise ValueError("a charge needs a source or a customer")
        return self

    @property
    def token(self) -> str | None:
        """The card to charge, by either of its names."""
        return self.source or self.card


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


class Outcome(Resource):
    """Stripe's `outcome`: what the network and the fraud screen said."""

    network_status: (
        Literal["approved_by_network", "declined_by_network", "not_sent_to_network"] | None
    )
    type: Literal["authorized", "issuer_declined", "blocked", "manual_review", "invalid"]
    risk_level: Literal["normal", "elevated", "highest", "not_assessed"]
    risk_score: int | None
    reason: str | None
    rule: str | None
    seller_message: str


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
    balance_transaction: None = Field(description="Strongroom keeps no balance: always null.")
    captured: bool
    paid: bool
    refunded: bool
    currency: str
    source: str | Card = Field(description="The card token; the card with expand[]=source.")
    payment_method: str = Field(description="The card token.")
    customer: str | Customer | None = Field(description="Expandable with expand[]=customer.")
    description: str | None
    metadata: dict[str, str]
    status: ChargeStatus
    failure_code: str | None
    failure_message: str | None
    outcome: Outcome | None
    review: str | None = Field(description="prv_…: the review holding this charge, if any.")
    refunds: ListOf[Refund] | None = Field(default=None, description="Only with expand[]=refunds.")
    authorization_code: str | None
    fraud: FraudOutcome | None
    livemode: bool
    created: int

    def shown(self) -> dict[str, Any]:
        """The JSON a merchant reads (and an event carries): `refunds` only when expanded."""
        return self.model_dump(mode="json", exclude={"refunds"})


from api.contracts.customers import Customer  # noqa: E402  (Charge refers to it)
from api.contracts.refunds import Refund  # noqa: E402

Charge.model_rebuild()
