"""Messages the simulator accepts and the record it keeps of them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AuthorizationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reference: str = Field(min_length=1, max_length=64)
    merchant: str = Field(min_length=1, max_length=64)
    pan: str = Field(pattern=r"^[0-9]{13,19}$", repr=False)
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2200)
    cvc: str | None = Field(default=None, pattern=r"^[0-9]{3,4}$", repr=False)
    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    # A sale (single-message authorisation and capture): approved, it is captured too.
    capture: bool = False


class CaptureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reference: str = Field(min_length=1, max_length=64)
    merchant: str = Field(min_length=1, max_length=64)
    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reference: str = Field(min_length=1, max_length=64)
    merchant: str = Field(min_length=1, max_length=64)


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reference: str = Field(min_length=1, max_length=64)
    authorization: str = Field(min_length=1, max_length=64)
    merchant: str = Field(min_length=1, max_length=64)
    amount: int = Field(gt=0)
    currency: str = Field(pattern=r"^[a-z]{3}$")


class AuthorizationResponse(BaseModel):
    approved: bool
    code: str
    authorization_code: str | None = None


class RecordedMessage(BaseModel):
    """A received message, the number (authorisations only) reduced to what may be printed.

    `idempotency_key` is the message's reference; `replayed` marks a repeat that was
    answered the first answer and moved nothing.
    """

    received_at: str
    kind: Literal["authorization", "capture", "void", "refund"] = "authorization"
    idempotency_key: str
    replayed: bool = False
    reference: str
    merchant: str
    bin: str | None = None
    last4: str | None = None
    cvc_present: bool = False
    capture: bool = False  # an authorisation that was a sale (its capture follows it)
    authorization: str | None = None
    amount: int = 0
    currency: str | None = None
    approved: bool
    code: str
    authorization_code: str | None = None  # an approved authorisation's, as answered
    # HMAC of what a repeat of the key must match (never the number itself): a restarted
    # simulator rebuilds its keys and ledger from this record.
    content_digest: str | None = None
