"""A marketplace's ruleset in Radar's order: allow, then block, then review; scores last.

Every rule is evaluated (each result is recorded with the decision), then:
  1. the first allow rule that matches allows;
  2. else the first block rule that matches blocks;
  3. else a score at or above block_at blocks (Radar's "highest risk");
  4. else the first review rule that matches holds the charge for review;
  5. else a score at or above review_at holds it (Radar's "elevated risk");
  6. else the charge is allowed.
The score is the sum of the scoring rules that match, clamped to 0..100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from fraud.rules.evaluate import Compiled, Lists, Values, compile_condition
from fraud.rules.nodes import Action
from fraud.rules.parser import parse_rule

Decision = Literal["allow", "review", "block"]
RiskLevel = Literal["normal", "elevated", "highest"]
DecidedBy = Literal["rule", "score", "default", "test_card"]
REVIEW_AT = 65
BLOCK_AT = 75


@dataclass(frozen=True)
class CompiledRule:
    id: str
    action: Action
    points: int
    predicate: str
    test: Compiled

    @classmethod
    def from_text(cls, rule_id: str, predicate: str) -> CompiledRule:
        """Parse and compile (the caller has type-checked it when it was saved)."""
        rule = parse_rule(predicate)
        return cls(rule_id, rule.action, rule.points, predicate, compile_condition(rule.condition))


@dataclass(frozen=True)
class Ruleset:
    version: int
    rules: tuple[CompiledRule, ...] = ()
    review_at: int = REVIEW_AT
    block_at: int = BLOCK_AT
    id: str = "live"


class RuleResult(NamedTuple):
    """One rule's result: a tuple, made once per rule per charge (a frozen dataclass took
    twice as long to make)."""

    rule: str
    action: Action
    matched: bool | None  # None: a value it reads is missing


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    score: int
    risk_level: RiskLevel
    rule: CompiledRule | None  # the rule that decided; None when the score or nothing did
    reason: str
    results: tuple[RuleResult, ...] = field(default=())
    decided_by: DecidedBy = "rule"


def risk_level(score: int, ruleset: Ruleset) -> RiskLevel:
    if score >= ruleset.block_at:
        return "highest"
    if score >= ruleset.review_at:
        return "elevated"
    return "normal"


def _by_rule(decision: Decision, rule: CompiledRule) -> str:
    verb = {"allow": "Allowed", "block": "Blocked", "review": "Held for review"}[decision]
    return f"{verb} by rule {rule.id}: {rule.predicate}"


def decide(ruleset: Ruleset, values: Values, lists: Lists) -> Outcome:
    """The decision of the ruleset on these attribute values; ListMissing fails it."""
    results = []
    first: dict[str, CompiledRule] = {}  # action -> the first of its rules that matched
    points = 0
    for rule in ruleset.rules:
        matched = rule.test(values, lists)
        results.append(RuleResult(rule.id, rule.action, matched))
        if matched is True:
            if rule.action == "score":
                points += rule.points
            elif rule.action not in first:
                first[rule.action] = rule
    score = max(0, min(100, points))
    level = risk_level(score, ruleset)

    def outcome(decision: Decision, rule: CompiledRule | None, reason: str) -> Outcome:
        by: DecidedBy = "rule" if rule else ("default" if reason == "No rule matched" else "score")
        return Outcome(decision, score, level, rule, reason, tuple(results), by)

    if (allow := first.get("allow")) is not None:
        return outcome("allow", allow, _by_rule("allow", allow))
    if (block := first.get("block")) is not None:
        return outcome("block", block, _by_rule("block", block))
    if score >= ruleset.block_at:
        return outcome(
            "block", None, f"Risk score {score} reached the block threshold {ruleset.block_at}"
        )
    if (review := first.get("review")) is not None:
        return outcome("review", review, _by_rule("review", review))
    if score >= ruleset.review_at:
        return outcome(
            "review", None, f"Risk score {score} reached the review threshold {ruleset.review_at}"
        )
    return outcome("allow", None, "No rule matched")
