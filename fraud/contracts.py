"""The fraud service's public surface: an assessment asked for by an API stack."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["allow", "review", "block"]


class CardSummary(BaseModel):
    """What the API may know of a card: never the number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=r"^card_[A-Za-z0-9]{8,64}$")
    brand: str = Field(max_length=32)
    bin: str = Field(pattern=r"^[0-9]{6}$")
    last4: str = Field(pattern=r"^[0-9]{4}$")
    fingerprint: str = Field(max_length=64)


class AssessmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    charge_id: str = Field(pattern=r"^ch_[A-Za-z0-9]{8,64}$")
    marketplace: str = Field(pattern=r"^mkt_[A-Za-z0-9]{8,64}$")
    amount: int = Field(gt=0, le=99_999_999_999)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    card: CardSummary


class Clearance(BaseModel):
    """An Ed25519-signed permission for the vault to execute exactly one charge."""

    payload: str
    signature: str


class Assessment(BaseModel):
    score: int = Field(ge=0, le=100)
    decision: Decision
    reasons: list[str]
    clearance: Clearance | None = None
