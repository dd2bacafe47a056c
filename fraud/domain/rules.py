"""Scoring: pure functions from what is known of a charge to a score and reasons."""

from __future__ import annotations

from dataclasses import dataclass

from fraud.contracts import Decision

BLOCK_AT = 80
REVIEW_AT = 50

# Documented test cards whose fraud outcome is fixed, known by BIN and last four only.
TEST_CARD_OUTCOMES: dict[tuple[str, str], tuple[int, str]] = {
    ("410000", "0019"): (100, "test_card_always_blocked"),
    ("400000", "4954"): (65, "test_card_always_review"),
}

VELOCITY_REVIEW = 5  # charges on one card in one marketplace within a minute
VELOCITY_BLOCK = 10
LARGE_AMOUNT = 1_000_000  # minor units


@dataclass(frozen=True)
class Facts:
    livemode: bool
    bin: str
    last4: str
    amount: int
    card_charges_last_minute: int


@dataclass(frozen=True)
class Verdict:
    score: int
    decision: Decision
    reasons: tuple[str, ...]


def decide(score: int) -> Decision:
    if score >= BLOCK_AT:
        return "block"
    if score >= REVIEW_AT:
        return "review"
    return "allow"


def assess(facts: Facts) -> Verdict:
    """Add up the rules that fire; the total, capped at 100, decides."""
    score = 0
    reasons: list[str] = []
    if not facts.livemode and (facts.bin, facts.last4) in TEST_CARD_OUTCOMES:
        points, reason = TEST_CARD_OUTCOMES[(facts.bin, facts.last4)]
        score += points
        reasons.append(reason)
    if facts.card_charges_last_minute > VELOCITY_BLOCK:
        score += 90
        reasons.append("card_velocity_extreme")
    elif facts.card_charges_last_minute > VELOCITY_REVIEW:
        score += 55
        reasons.append("card_velocity_high")
    if facts.amount >= LARGE_AMOUNT:
        score += 30
        reasons.append("large_amount")
    score = min(score, 100)
    return Verdict(score=score, decision=decide(score), reasons=tuple(reasons))
