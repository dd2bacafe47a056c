"""Settlement's HTTP contracts (docs/internal-api.md): captures, voids, refunds and the state
of a charge, strictly typed as every vault contract is (vault.contracts). None holds a card.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vault.contracts import Clearance, Contract, Identifier


class MarketplaceQuery(Contract):
    """Query of GET /internal/v1/charges/{id} and GET /internal/v1/refunds/{id}."""

    marketplace: Identifier


class CaptureCreate(Contract):
    """POST /internal/v1/charges/{id}/capture body: at most the authorised amount; the
    clearance is fraud's approval, required for a charge fraud held for review."""

    marketplace: Identifier
    amount: int = Field(gt=0, le=99_999_999)
    clearance: Clearance | None = None


class VoidCreate(Contract):
    """POST /internal/v1/charges/{id}/void body."""

    marketplace: Identifier


class SettlementResult(Contract):
    """200 answer to a capture or a void."""

    charge_id: str
    action: Literal["capture", "void"]
    status: Literal["succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class RefundCreate(Contract):
    """POST /internal/v1/refunds body."""

    refund_id: Identifier
    charge_id: Identifier
    marketplace: Identifier
    amount: int = Field(gt=0, le=99_999_999)


class RefundResult(Contract):
    """200 answer to POST /internal/v1/refunds."""

    refund_id: str
    charge_id: str
    status: Literal["succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class RefundStatus(Contract):
    """200 answer to GET /internal/v1/refunds/{id}: a refund as the vault recorded it."""

    refund_id: str
    charge_id: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None
    livemode: bool


class Settlement(Contract):
    action: Literal["capture", "void"]
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None


class RefundState(Contract):
    refund_id: str
    status: Literal["processing", "succeeded", "failed"]
    amount: int
    failure_code: str | None = None


class ChargeState(Contract):
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
