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


def _comparison(op: str, left: Operand, right: Operand) -> Compiled:
    """A comparison that reads its operands itself: a closure per operand was two more
    calls per comparison, and comparisons are most of what a charge's rules evaluate."""
    compare = OPERATORS[op]
    if isinstance(left, Attribute):
        a_name = left.name
        if isinstance(right, Attribute):
            b_name = right.name

            def two_attributes(values: Values, lists: Lists) -> bool | None:
                a, b = values.get(a_name), values.get(b_name)
                return None if a is None or b is None else compare(a, b)

            return two_attributes
        constant = right.value

        def attribute_constant(values: Values, lists: Lists) -> bool | None:
            a = values.get(a_name)
            return None if a is None else compare(a, constant)

        return attribute_constant
    first = left.value
    if isinstance(right, Attribute):
        b_name = right.name

        def constant_attribute(values: Values, lists: Lists) -> bool | None:
            b = values.get(b_name)
            return None if b is None else compare(first, b)

        return constant_attribute
    second = right.value  # two constants: rare, and compared each time as before
    return lambda values, lists: compare(first, second)


def compile_condition(node: Condition) -> Compiled:
    """A closure evaluating the condition over attribute values and list contents."""
    match node:
        case Comparison(op=op, left=left, right=right):
            return _comparison(op, left, right)
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
