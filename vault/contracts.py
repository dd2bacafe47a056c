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


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CardCreate(_Contract):
    """POST /v1/cards body. The number and CVC are checked by vault.domain.cards (402)."""

    number: str = Field(max_length=64, repr=False)
    exp_month: int
    exp_year: int
    cvc: str = Field(max_length=8, repr=False)
    name: str | None = Field(default=None, max_length=200)


class Card(_Contract):
    """201 answer to POST /v1/cards; the fingerprint only to a secret key (else omitted)."""

    id: str
    object: Literal["card"] = "card"
    last4: str
    brand: str
    exp_month: int
    exp_year: int
    fingerprint: str | None = None
    livemode: bool


class CardMetadata(_Contract):
    """200 answer to GET /internal/v1/cards/{id}: everything but the secrets."""

    id: str
    marketplace: str
    livemode: bool
    brand: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    name: str | None


class Clearance(_Contract):
    payload: str = Field(min_length=1, max_length=2048)
    signature: str = Field(min_length=1, max_length=128)


class ChargeCreate(_Contract):
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


class ChargeResult(_Contract):
    """200 answer to POST /internal/v1/charges; optional fields are omitted when absent."""

    charge_id: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    failure_message: str | None = None
    authorization_code: str | None = None
    # Present when the charge was captured with its authorisation (a replay included).
    amount_captured: int | None = None
    livemode: bool


class CardQuery(_Contract):
    """Query of GET /internal/v1/cards/{id}."""

    marketplace: Identifier


class MarketplaceQuery(_Contract):
    """Query of GET /internal/v1/charges/{id} and GET /internal/v1/refunds/{id}."""

    marketplace: Identifier


class CaptureCreate(_Contract):
    """POST /internal/v1/charges/{id}/capture body: at most the authorised amount; the
    clearance is fraud's approval, required for a charge fraud held for review."""

    marketplace: Identifier
    amount: int = Field(gt=0, le=99_999_999)
    clearance: Clearance | None = None


class VoidCreate(_Contract):
    """POST /internal/v1/charges/{id}/void body."""

    marketplace: Identifier


class SettlementResult(_Contract):
    """200 answer to a capture or a void."""

    charge_id: str
    action: Literal["capture", "void"]
    status: Literal["succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class RefundCreate(_Contract):
    """POST /internal/v1/refunds body."""

    refund_id: Identifier
    charge_id: Identifier
    marketplace: Identifier
    amount: int = Field(gt=0, le=99_999_999)


class RefundResult(_Contract):
    """200 answer to POST /internal/v1/refunds."""

    refund_id: str
    charge_id: str
    status: Literal["succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class RefundStatus(_Contract):
    """200 answer to GET /internal/v1/refunds/{id}: a refund as the vault recorded it."""

    refund_id: str
    charge_id: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class Settlement(_Contract):
    action: Literal["capture", "void"]
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None


class RefundState(_Contract):
    refund_id: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None


class ChargeState(_Contract):
    """200 answer to GET /internal/v1/charges/{id}: what the vault knows of a charge."""

    charge_id: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    currency: str
    failure_code: str | None = None
    authorization_code: str | None = None
    settlement: Settlement | None = None
    amount_refunded: int
    refunds: list[RefundState] = Field(default_factory=list)  # oldest first
    livemode: bool


class OperatorCommandBody(_Contract):
    """POST /admin/v1/commands body: a command signed with the operator's key."""

    payload: str = Field(min_length=1, max_length=2048)
    signature: str = Field(min_length=1, max_length=128)


class Token(_Contract):
    """201 answer to POST /v1/tokens, as Stripe shapes a token; its id is the card token."""

    id: str
    object: Literal["token"] = "token"
    type: Literal["card"] = "card"
    card: Card
    livemode: bool
    created: int
    used: bool = False
    client_ip: None = None
