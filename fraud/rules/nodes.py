"""The parsed form of a rule: typed pydantic nodes, each with its column in the source."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["allow", "block", "review", "score"]
Comparator = Literal[">", ">=", "<", "<=", "=", "!="]
ValueType = Literal["number", "string", "boolean"]


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    column: int = Field(ge=1, description="1-based column of the node's first character.")


class Attribute(Node):
    kind: Literal["attribute"] = "attribute"
    name: str


class Number(Node):
    kind: Literal["number"] = "number"
    value: int


class Text(Node):
    kind: Literal["string"] = "string"
    value: str


class Boolean(Node):
    kind: Literal["boolean"] = "boolean"
    value: bool


class ListRef(Node):
    kind: Literal["list"] = "list"
    alias: str


Operand = Annotated[Attribute | Number | Text | Boolean, Field(discriminator="kind")]


class Comparison(Node):
    kind: Literal["compare"] = "compare"
    op: Comparator
    left: Operand
    right: Operand


class Membership(Node):
    kind: Literal["in"] = "in"
    attribute: Attribute
    list: ListRef
    negated: bool = False


class Truth(Node):
    """A boolean attribute on its own: `:is_new_customer:`."""

    kind: Literal["truth"] = "truth"
    attribute: Attribute


class Not(Node):
    kind: Literal["not"] = "not"
    operand: Condition


class All(Node):
    kind: Literal["and"] = "and"
    operands: list[Condition] = Field(min_length=2)


class AnyOf(Node):
    kind: Literal["or"] = "or"
    operands: list[Condition] = Field(min_length=2)


Condition = Annotated[
    Comparison | Membership | Truth | Not | All | AnyOf, Field(discriminator="kind")
]


class Rule(BaseModel):
    """`ACTION if CONDITION`; a scoring rule adds `points` (negative lowers the score)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Action
    points: int = 0
    condition: Condition


def attributes_of(condition: Condition) -> list[Attribute]:
    """Every attribute the condition reads, in source order."""
    match condition:
        case Comparison(left=left, right=right):
            return [o for o in (left, right) if isinstance(o, Attribute)]
        case Membership(attribute=attribute) | Truth(attribute=attribute):
            return [attribute]
        case Not(operand=operand):
            return attributes_of(operand)
        case All(operands=operands) | AnyOf(operands=operands):
            return [a for o in operands for a in attributes_of(o)]
    raise AssertionError(condition)


def lists_of(condition: Condition) -> list[ListRef]:
    """Every value list the condition names, in source order."""
    match condition:
        case Membership(list=ref):
            return [ref]
        case Not(operand=operand):
            return lists_of(operand)
        case All(operands=operands) | AnyOf(operands=operands):
            return [r for o in operands for r in lists_of(o)]
    return []


Not.model_rebuild()
All.model_rebuild()
AnyOf.model_rebuild()
Rule.model_rebuild()
