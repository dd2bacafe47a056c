"""The vault's HTTP contracts (docs/internal-api.md): every body in and out, strictly typed.

strict=True: no coercion, so "12" is not a month and true is not 1. extra="forbid": an
unexpected field is an error, not silently ignored. Card number and CVC fields have
repr=False, and validation errors are reported without their input (vault.errors).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# Identifiers chosen by other services; never ":" (fingerprint input) nor card data.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")]


class Contract(BaseModel):
    """A body in or out: strict, closed, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CardCreate(Contract):
    """POST /v1/cards body. The number and CVC are checked by vault.domain.cards (402)."""

    number: str = Field(max_length=64, repr=False)
    exp_month: int
    exp_year: int
    cvc: str = Field(max_length=8, repr=False)
    name: str | None = Field(default=None, max_length=200)


class Card(Contract):
    """201 answer to POST /v1/cards; the fingerprint only to a secret key (else omitted)."""

    id: str
    object: Literal["card"] = "card"
    last4: str
    brand: str
    exp_month: int
    exp_year: int
    fingerprint: str | None = None
    livemode: bool


class CardMetadata(Contract):
    """200 answer to GET /internal/v1/cards/{id}: what the app zone may know of a card. Not
    the secrets, and not the cardholder's name: the API has no use for it, and a name is
    free text a shopper chose, which no check reads as surely as the edge reads a body."""

    id: str
    marketplace: str
    livemode: bool
    brand: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str


class Clearance(Contract):
    payload: str = Field(min_length=1, max_length=2048)
    signature: str = Field(min_length=1, max_length=128)


class ChargeCreate(Contract):
    """POST /internal/v1/charges body; the mode is not in it, it comes from the credential."""

    charge_id: Identifier
    card: Identifier
    marketplace: Identifier
    amount: int = Field(gt=0, le=99_999_999)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    clearance: Clearance
    # Capture the whole amount with the authorisation, in one network message; false: only
    # authorise (POST .../capture later). Not for a charge fraud held for review.
    capture: bool = False


class ChargeResult(Contract):
    """200 answer to POST /internal/v1/charges; optional fields are omitted when absent."""

    charge_id: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    failure_message: str | None = None
    authorization_code: str | None = None
    # Present when the charge was captured with its authorisation (a replay included).
    amount_captured: int | None = None
    livemode: bool


class CardQuery(Contract):
    """Query of GET /internal/v1/cards/{id}."""

    marketplace: Identifier


class Token(Contract):
    """201 answer to POST /v1/tokens, as Stripe shapes a token; its id is the card token."""

    id: str
    object: Literal["token"] = "token"
    type: Literal["card"] = "card"
    card: Card
    livemode: bool
    created: int
    used: bool = False
    client_ip: None = None
