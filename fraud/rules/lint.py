"""Warnings on save: rules that can never decide, thresholds no score reaches, attributes
that the last 30 days of charges never had. A warning does not refuse the rule.

Shadowing is judged by syntax, not by solving: a rule is shadowed when an earlier rule
that wins over it (Radar's order: allow, block, review; within one action, the first)
has a condition that is the same as its own, or a part of its own `and`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fraud.rules.nodes import All, Comparison, Condition, Number, Rule, attributes_of
from fraud.rules.parser import parse_rule, render_condition

PRIORITY = {"allow": 0, "block": 1, "review": 2}


@dataclass(frozen=True)
class Saved:
    id: str
    predicate: str


def _parts(condition: Condition) -> set[str]:
    if isinstance(condition, All):
        return {render_condition(o) for o in condition.operands}
    return {render_condition(condition)}


def _wins_over(earlier: Rule, later: Rule) -> bool:
    if earlier.action == "score" or later.action == "score":
        return False
    return PRIORITY[earlier.action] <= PRIORITY[later.action]


def _never_matches(condition: Condition) -> str | None:
    """A conjunction of bounds on one attribute that no integer satisfies (numbers are
    whole: amounts in minor units, counts)."""
    if not isinstance(condition, All):
        return None
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for part in condition.operands:
        if not (isinstance(part, Comparison) and isinstance(part.right, Number)):
            continue
        if part.left.kind != "attribute":
            continue
        name, value = part.left.name, part.right.value
        if part.op in (">", ">="):
            low[name] = max(low.get(name, float("-inf")), value + (part.op == ">"))
        elif part.op in ("<", "<="):
            high[name] = min(high.get(name, float("inf")), value - (part.op == "<"))
        elif part.op == "=":
            low[name] = max(low.get(name, float("-inf")), value)
            high[name] = min(high.get(name, float("inf")), value)
    for name in low.keys() & high.keys():
        if low[name] > high[name]:
            return f"can never match: no :{name}: meets all its bounds"
    return None


def lint_rule(
    predicate: str,
    earlier: Sequence[Saved],
    later: Sequence[Saved] = (),
    seen_attributes: Iterable[str] | None = None,
) -> list[str]:
    """Warnings for the rule `predicate`, placed after `earlier` and before `later`."""
    rule = parse_rule(predicate)
    warnings: list[str] = []
    impossible = _never_matches(rule.condition)
    if impossible:
        warnings.append(impossible)
    mine = _parts(rule.condition)
    for other in earlier:
        theirs = parse_rule(other.predicate)
        if _wins_over(theirs, rule) and _parts(theirs.condition) <= mine:
            warnings.append(f"shadowed by {other.id} ({other.predicate}): it can never decide")
        elif (
            rule.action != "score"
            and theirs.action not in ("score", rule.action)
            and _parts(theirs.condition) == mine
        ):
            warnings.append(f"contradicts {other.id} ({other.predicate})")
    for other in later:
        theirs = parse_rule(other.predicate)
        if (
            _wins_over(rule, theirs)
            and theirs.action != rule.action
            and mine <= _parts(theirs.condition)
        ):
            warnings.append(f"makes {other.id} ({other.predicate}) unable to decide")
    if seen_attributes is not None:
        seen = set(seen_attributes)
        for attribute in dict.fromkeys(a.name for a in attributes_of(rule.condition)):
            if attribute not in seen:
                warnings.append(
                    f":{attribute}: was missing in every charge of the last 30 days,"
                    " so this rule would not have matched any"
                )
    return warnings


def lint_thresholds(predicates: Iterable[str], review_at: int, block_at: int) -> list[str]:
    """Thresholds above the highest score the scoring rules can add up to."""
    reachable = min(
        100, sum(max(0, r.points) for r in map(parse_rule, predicates) if r.action == "score")
    )
    warnings = []
    for name, threshold in (("review_at", review_at), ("block_at", block_at)):
        if threshold > reachable:
            warnings.append(
                f"{name} {threshold} is above the highest reachable score ({reachable})"
            )
    return warnings
