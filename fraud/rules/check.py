"""Type-checking a parsed rule against the attribute registry and the marketplace's lists."""

from __future__ import annotations

from collections.abc import Mapping

from fraud.rules.attributes import REGISTRY, ListKind
from fraud.rules.errors import RuleInvalid
from fraud.rules.nodes import (
    All,
    AnyOf,
    Attribute,
    Boolean,
    Comparison,
    Condition,
    Membership,
    Not,
    Number,
    Operand,
    Rule,
    Text,
    Truth,
    ValueType,
)

ORDERING = {">", ">=", "<", "<="}
MAX_POINTS = 100


def _type_of(operand: Operand, source: str) -> ValueType:
    match operand:
        case Attribute(name=name, column=column):
            spec = REGISTRY.get(name)
            if spec is None:
                raise RuleInvalid(f"unknown attribute :{name}:", column, source)
            return spec.type
        case Number():
            return "number"
        case Text():
            return "string"
        case Boolean():
            return "boolean"
    raise AssertionError(operand)


def _check(node: Condition, lists: Mapping[str, ListKind], source: str) -> None:
    match node:
        case Comparison(op=op, left=left, right=right, column=column):
            types = (_type_of(left, source), _type_of(right, source))
            if not isinstance(left, Attribute) and not isinstance(right, Attribute):
                raise RuleInvalid("a comparison needs at least one attribute", column, source)
            if op in ORDERING and types != ("number", "number"):
                raise RuleInvalid(
                    f"'{op}' compares numbers, not {types[0]} and {types[1]}", column, source
                )
            if types[0] != types[1]:
                raise RuleInvalid(f"'{op}' compares a {types[0]} with a {types[1]}", column, source)
        case Membership(attribute=attribute, list=ref):
            if _type_of(attribute, source) != "string":
                raise RuleInvalid(
                    f":{attribute.name}: is not a string; lists hold strings",
                    attribute.column,
                    source,
                )
            kind = lists.get(ref.alias)
            if kind is None:
                raise RuleInvalid(f"no value list @{ref.alias}", ref.column, source)
            wanted = REGISTRY[attribute.name].list_kind
            if kind != "string" and wanted != kind:
                raise RuleInvalid(
                    f"@{ref.alias} holds {kind} values, not :{attribute.name}:",
                    ref.column,
                    source,
                )
        case Truth(attribute=attribute):
            if _type_of(attribute, source) != "boolean":
                raise RuleInvalid(
                    f":{attribute.name}: is not a boolean; compare it with a value",
                    attribute.column,
                    source,
                )
        case Not(operand=operand):
            _check(operand, lists, source)
        case All(operands=operands) | AnyOf(operands=operands):
            for operand in operands:
                _check(operand, lists, source)


def check_rule(rule: Rule, lists: Mapping[str, ListKind], source: str) -> None:
    """RuleInvalid at the first unknown attribute, type mismatch or missing list."""
    if rule.action == "score" and not (0 < abs(rule.points) <= MAX_POINTS):
        raise RuleInvalid(f"a score rule adds 1 to {MAX_POINTS} points, or takes them", 7, source)
    _check(rule.condition, lists, source)
