"""Compiled conditions: three-valued, so that a missing attribute value never matches.

Each node becomes a closure returning True, False or None (unknown). `not` of unknown is
unknown, `and` is False if any part is False, `or` is True if any part is True (Kleene's
logic); a rule fires only on True. So `block if not :email_domain: in @trusted_domains`
does not block a charge that has no email at all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from fraud.rules.nodes import (
    All,
    AnyOf,
    Attribute,
    Comparison,
    Condition,
    Membership,
    Not,
    Operand,
    Truth,
)

Value = int | str | bool | None
Values = Mapping[str, Value]
Lists = Mapping[str, frozenset[str]]
Compiled = Callable[[Values, Lists], bool | None]

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}


class ListMissing(Exception):
    """A rule names a list that no longer exists: the assessment fails closed."""


def _operand(node: Operand) -> Callable[[Values], Value]:
    if isinstance(node, Attribute):
        name = node.name
        return lambda values: values.get(name)
    constant = node.value
    return lambda values: constant


def compile_condition(node: Condition) -> Compiled:
    """A closure evaluating the condition over attribute values and list contents."""
    match node:
        case Comparison(op=op, left=left, right=right):
            compare, read_left, read_right = OPERATORS[op], _operand(left), _operand(right)

            def comparison(values: Values, lists: Lists) -> bool | None:
                a, b = read_left(values), read_right(values)
                if a is None or b is None:
                    return None
                return compare(a, b)

            return comparison
        case Membership(attribute=attribute, list=ref, negated=negated):
            name, alias = attribute.name, ref.alias

            def membership(values: Values, lists: Lists) -> bool | None:
                value = values.get(name)
                if value is None:
                    return None
                members = lists.get(alias)
                if members is None:
                    raise ListMissing(alias)
                return (value in members) != negated

            return membership
        case Truth(attribute=attribute):
            name = attribute.name

            def truth(values: Values, lists: Lists) -> bool | None:
                value = values.get(name)
                return None if value is None else bool(value)

            return truth
        case Not(operand=operand):
            inner = compile_condition(operand)

            def negation(values: Values, lists: Lists) -> bool | None:
                result = inner(values, lists)
                return None if result is None else not result

            return negation
        case All(operands=operands):
            parts = [compile_condition(o) for o in operands]

            def conjunction(values: Values, lists: Lists) -> bool | None:
                unknown = False
                for part in parts:
                    result = part(values, lists)
                    if result is False:
                        return False
                    unknown = unknown or result is None
                return None if unknown else True

            return conjunction
        case AnyOf(operands=operands):
            parts = [compile_condition(o) for o in operands]

            def disjunction(values: Values, lists: Lists) -> bool | None:
                unknown = False
                for part in parts:
                    result = part(values, lists)
                    if result is True:
                        return True
                    unknown = unknown or result is None
                return None if unknown else False

            return disjunction
    raise AssertionError(node)
