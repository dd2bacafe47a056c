"""The fraud service's public surface: assessments asked for by an API stack, and the
management of rules and value lists that the API proxies for a merchant."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["allow", "review", "block"]
RiskLevel = Literal["normal", "elevated", "highest"]
# How a review left open past its timeout closes.
ReviewTimeoutAction = Literal["approve", "reject"]
# What a change to a scope's rules did (a rule's, or "settings": thresholds and timeouts).
RuleChangeKind = Literal["created", "updated", "enabled", "disabled", "deleted", "settings"]


class CardSummary(BaseModel):
    """What the API may know of a card: never the number."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str = Field(pattern=r"^card_[A-Za-z0-9]{8,64}$")
    brand: str = Field(max_length=32)
    bin: str = Field(pattern=r"^[0-9]{6}$")
    last4: str = Field(pattern=r"^[0-9]{4}$")
    fingerprint: str = Field(max_length=64)
    # Card facts the vault may share; the BIN table answers when they are absent.
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    funding: str | None = Field(default=None, max_length=16)


class AssessmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    charge_id: str = Field(pattern=r"^ch_[A-Za-z0-9]{8,64}$")
    marketplace: str = Field(pattern=r"^mkt_[A-Za-z0-9]{8,64}$")
    amount: int = Field(gt=0, le=99_999_999_999)
    currency: str = Field(pattern=r"^[a-z]{3}$")
    card: CardSummary
    customer: str | None = Field(default=None, pattern=r"^cus_[A-Za-z0-9]{8,64}$")
    email: str | None = Field(default=None, max_length=512)
    # The charge's metadata: ip, ip_country, device_id or session, billing_country, email.
    metadata: dict[str, str] = Field(default_factory=dict, max_length=50)


class ApprovalRequest(BaseModel):
    """A person approved the review of a held charge: may the API capture it now?"""

    model_config = ConfigDict(extra="forbid", strict=True)

    charge_id: str = Field(pattern=r"^ch_[A-Za-z0-9]{8,64}$")
    marketplace: str = Field(pattern=r"^mkt_[A-Za-z0-9]{8,64}$")
    card: str = Field(pattern=r"^card_[A-Za-z0-9]{8,64}$")
    amount: int = Field(gt=0, le=99_999_999_999)
    currency: str = Field(pattern=r"^[a-z]{3}$")


class Clearance(BaseModel):
    """An Ed25519-signed permission for the vault to execute exactly one charge."""

    payload: str
    signature: str


class RuleRef(BaseModel):
    """The rule that decided, as a charge's `outcome.rule` shows it."""

    id: str
    action: str
    predicate: str


class Assessment(BaseModel):
    score: int = Field(ge=0, le=100)
    decision: Decision
    risk_level: RiskLevel = "normal"
    rule: RuleRef | None = None
    reason: str = ""
    decided_by: Literal["rule", "score", "default", "test_card"] = "default"
    reasons: list[str]
    ruleset_version: int = 0
    clearance: Clearance | None = None


class ManagementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RuleCreate(ManagementRequest):
    predicate: str = Field(min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=500)


class RuleUpdate(ManagementRequest):
    predicate: str | None = Field(default=None, min_length=1, max_length=2000)
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class ThresholdsUpdate(ManagementRequest):
    """Scores at or above review_at are reviewed, at or above block_at blocked; a review
    open longer than review_timeout_seconds closes by review_timeout_action (null: the
    API stack's default). Fields left out keep their value."""

    review_at: int | None = Field(default=None, ge=1, le=100)
    block_at: int | None = Field(default=None, ge=1, le=101)  # 101: the score never blocks
    review_timeout_seconds: int | None = Field(default=None, ge=60, le=90 * 86400)
    review_timeout_action: ReviewTimeoutAction | None = None


class ValueListCreate(ManagementRequest):
    alias: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    item_type: str = "string"


class ValueListItemCreate(ManagementRequest):
    value_list: str = Field(pattern=r"^rsl_[A-Za-z0-9]{8,64}$")
    value: str = Field(min_length=1, max_length=800)


class DraftCreate(ManagementRequest):
    name: str = Field(min_length=1, max_length=200)
    rules: list[str] = Field(max_length=200)
    review_at: int | None = Field(default=None, ge=1, le=100)
    block_at: int | None = Field(default=None, ge=1, le=101)
    shadow: bool = False


class DraftUpdate(ManagementRequest):
    shadow: bool
