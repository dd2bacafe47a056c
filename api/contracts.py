"""The merchant API's public surface: requests in, resources out."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.domain.money import EXPONENTS, MAX_AMOUNT

ChargeStatus = Literal["pending", "succeeded", "failed", "blocked", "pending_review"]


class ChargeCreate(BaseModel):
    # Strict: an amount of "100", 100.0 or true is refused, not coerced.
    model_config = ConfigDict(extra="forbid", strict=True)

    card: str = Field(pattern=r"^card_[A-Za-z0-9]{8,64}$")
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    currency: str
    description: str | None = Field(default=None, max_length=1000)
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in EXPONENTS:
            raise ValueError("must be a supported lower-case ISO 4217 currency code, e.g. 'usd'")
        return value

    @field_validator("metadata")
    @classmethod
    def _small_metadata(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not key or len(key) > 40 or len(item) > 500:
                raise ValueError("keys must be 1-40 characters and values at most 500")
        return value


class FraudOutcome(BaseModel):
    score: int
    decision: Literal["allow", "review", "block"]
    reasons: list[str]


class Charge(BaseModel):
    id: str
    object: Literal["charge"] = "charge"
    amount: int
    currency: str
    card: str
    description: str | None
    metadata: dict[str, str]
    status: ChargeStatus
    failure_code: str | None
    failure_message: str | None
    authorization_code: str | None
    fraud: FraudOutcome | None
    livemode: bool
    created: int


class Card(BaseModel):
    id: str
    object: Literal["card"] = "card"
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    fingerprint: str
    livemode: bool


class Event(BaseModel):
    id: str
    object: Literal["event"] = "event"
    type: str
    data: dict[str, Any]
    livemode: bool
    created: int


T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
