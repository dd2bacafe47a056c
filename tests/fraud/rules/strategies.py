"""Hypothesis strategies for rule nodes that pass the type checker."""

from __future__ import annotations

from hypothesis import strategies as st

from fraud.rules.attributes import REGISTRY
from fraud.rules.nodes import (
    All,
    AnyOf,
    Attribute,
    Boolean,
    Comparison,
    Condition,
    ListRef,
    Membership,
    Not,
    Number,
    Rule,
    Text,
    Truth,
)

NUMBERS = sorted(n for n, s in REGISTRY.items() if s.type == "number")
STRINGS = sorted(n for n, s in REGISTRY.items() if s.type == "string")
BOOLEANS = sorted(n for n, s in REGISTRY.items() if s.type == "boolean")
LISTS = {"anything": "string"}

texts = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="'\""), max_size=12
)


def attribute(names: list[str]) -> st.SearchStrategy[Attribute]:
    return st.sampled_from(names).map(lambda n: Attribute(name=n, column=1))


numeric = st.builds(
    lambda a, op, n: Comparison(op=op, left=a, right=Number(value=n, column=1), column=1),
    attribute(NUMBERS),
    st.sampled_from([">", ">=", "<", "<=", "=", "!="]),
    st.integers(0, 10**12),
)
textual = st.builds(
    lambda a, op, t: Comparison(op=op, left=a, right=Text(value=t, column=1), column=1),
    attribute(STRINGS),
    st.sampled_from(["=", "!="]),
    texts,
)
flag = st.builds(
    lambda a, v: Comparison(op="=", left=a, right=Boolean(value=v, column=1), column=1),
    attribute(BOOLEANS),
    st.booleans(),
)
membership = st.builds(
    lambda a, negated: Membership(
        attribute=a, list=ListRef(alias="anything", column=1), negated=negated, column=1
    ),
    attribute(STRINGS),
    st.booleans(),
)
truth = attribute(BOOLEANS).map(lambda a: Truth(attribute=a, column=1))

conditions: st.SearchStrategy[Condition] = st.recursive(
    st.one_of(numeric, textual, flag, membership, truth),
    lambda inner: st.one_of(
        inner.map(lambda c: Not(operand=c, column=1)),
        st.lists(inner, min_size=2, max_size=3).map(lambda cs: All(operands=cs, column=1)),
        st.lists(inner, min_size=2, max_size=3).map(lambda cs: AnyOf(operands=cs, column=1)),
    ),
    max_leaves=8,
)

rules = st.builds(
    lambda action, points, condition: Rule(
        action=action, points=points if action == "score" else 0, condition=condition
    ),
    st.sampled_from(["allow", "block", "review", "score"]),
    st.integers(1, 100) | st.integers(-100, -1),
    conditions,
)


def shape(node: object) -> object:
    """A node's dump without columns: what a rule means, not where it was written."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items() if k != "column"}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return node
