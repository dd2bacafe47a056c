"""Fraud rules, settings and value lists: what a merchant sends and reads back.

The fraud service keeps them and checks rules against its grammar and attribute
registry; these models are the API's side of the contract (docs/fraud.md has the language).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.contracts.common import Request, Resource, text

ItemType = Literal[
    "card_fingerprint", "card_bin", "email", "email_domain", "ip_address", "customer_id", "string"
]
Predicate = text(2000, min_length=1)


class FraudRuleCreate(Request):
    predicate: Predicate = Field(  # type: ignore[valid-type]
        description="`block if :card_velocity_1h: > 3` and the like (docs/fraud.md)."
    )
    description: text(500) | None = None  # type: ignore[valid-type]


class FraudRuleUpdate(Request):
    predicate: Predicate | None = None  # type: ignore[valid-type]
    enabled: bool | None = Field(default=None, description="false disables the rule.")
    description: text(500) | None = None  # type: ignore[valid-type]


class FraudRule(Resource):
    id: str
    object: Literal["fraud.rule"] = "fraud.rule"
    action: Literal["allow", "block", "review", "score"]
    predicate: str
    description: str | None
    enabled: bool
    deleted: bool
    created: int
    updated: int
    livemode: bool
    warnings: list[str] = Field(
        default_factory=list, description="The linter's findings when the rule was saved."
    )


class FraudRuleChange(Resource):
    object: Literal["fraud.rule_change"] = "fraud.rule_change"
    version: int = Field(description="The ruleset version this change made.")
    rule: str | None
    change: str
    predicate: str | None
    enabled: bool | None
    actor: str
    created: int


class FraudSettingsUpdate(Request):
    review_at: int | None = Field(
        default=None, ge=1, le=100, description="A score at or above it is reviewed."
    )
    block_at: int | None = Field(
        default=None, ge=1, le=101, description="At or above it blocked; 101: never."
    )
    review_timeout_seconds: int | None = Field(
        default=None,
        ge=60,
        le=90 * 86400,
        description="A review open longer closes by review_timeout_action; null: the default.",
    )
    review_timeout_action: Literal["approve", "reject"] | None = Field(
        default=None, description="How a timed-out review closes; null: the stack's default."
    )


class FraudSettings(Resource):
    object: Literal["fraud.settings"] = "fraud.settings"
    ruleset_version: int
    review_at: int
    block_at: int
    review_timeout_seconds: int | None = None
    review_timeout_action: Literal["approve", "reject"] | None = None
    livemode: bool
    warnings: list[str] = Field(default_factory=list)


class FraudValueListCreate(Request):
    alias: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Rules name it @alias.")
    name: text(200, min_length=1)  # type: ignore[valid-type]
    item_type: ItemType = "string"


class FraudValueListItemCreate(Request):
    value_list: str = Field(pattern=r"^rsl_[A-Za-z0-9]{8,64}$")
    value: text(800, min_length=1)  # type: ignore[valid-type]


class FraudValueListItem(Resource):
    id: str
    object: Literal["fraud.value_list_item"] = "fraud.value_list_item"
    value: str
    value_list: str
    created_by: str
    created: int
    livemode: bool


class FraudValueListItems(Resource):
    object: Literal["list"] = "list"
    data: list[FraudValueListItem]


class FraudValueList(Resource):
    id: str
    object: Literal["fraud.value_list"] = "fraud.value_list"
    alias: str
    name: str
    item_type: str
    created_by: str
    created: int
    livemode: bool
    list_items: FraudValueListItems | None = None


class FraudRulesetCreate(Request):
    name: text(200, min_length=1)  # type: ignore[valid-type]
    rules: list[Predicate] = Field(max_length=200, description="One rule each.")  # type: ignore[valid-type]
    review_at: int | None = Field(default=None, ge=1, le=100)
    block_at: int | None = Field(default=None, ge=1, le=101)
    shadow: bool = Field(default=False, description="Run beside the live rules, deciding nothing.")


class FraudRulesetUpdate(Request):
    shadow: bool


class FraudRuleset(Resource):
    id: str
    object: Literal["fraud.ruleset"] = "fraud.ruleset"
    name: str
    rules: list[str]
    review_at: int
    block_at: int
    shadow: bool
    created_by: str
    created: int
    livemode: bool


class FraudShadowPair(Resource):
    live: str
    shadow: str
    count: int


class FraudShadowSummary(Resource):
    object: Literal["fraud.shadow_summary"] = "fraud.shadow_summary"
    ruleset: str
    charges: int
    differing: int
    by_decision: list[FraudShadowPair]
    examples: list[str] = Field(description="Charges where it differed, the latest last.")
