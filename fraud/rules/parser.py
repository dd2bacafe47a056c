"""Text to typed rule nodes through the grammar in grammar.lark (LALR: linear, no eval)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedToken, VisitError

from fraud.rules.errors import RuleInvalid
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

GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_LENGTH = 2000
MAX_DEPTH = 64  # parse-tree levels; a rule of ten nested parentheses takes about thirty


@cache
def _lark() -> Lark:
    return Lark(GRAMMAR.read_text(), start="rule", parser="lalr", propagate_positions=True)


def _column(node: Any) -> int:
    if isinstance(node, Token):
        return node.column or 1
    if isinstance(node, Tree) and node.meta and not node.meta.empty:
        return node.meta.column
    return int(node.column)


class _ToNodes(Transformer[Token, Any]):
    def rule(self, children: list[Any]) -> Rule:
        (action, points), condition = children
        return Rule(action=action, points=points, condition=condition)

    def action(self, children: list[Token]) -> tuple[str, int]:
        if len(children) == 2:
            return "score", int(children[1].value)
        return children[0].value.lower(), 0

    def attribute(self, children: list[Token]) -> Attribute:
        return Attribute(name=children[0].value[1:-1], column=_column(children[0]))

    def list_ref(self, children: list[Token]) -> ListRef:
        return ListRef(alias=children[0].value[1:], column=_column(children[0]))

    def number(self, children: list[Token]) -> Number:
        return Number(value=int(children[0].value), column=_column(children[0]))

    def string(self, children: list[Token]) -> Text:
        return Text(value=children[0].value[1:-1], column=_column(children[0]))

    def boolean(self, children: list[Token]) -> Boolean:
        return Boolean(value=children[0].type == "TRUE", column=_column(children[0]))

    def comparison(self, children: list[Any]) -> Comparison:
        left, op, right = children
        comparator = "=" if op.value == "==" else op.value
        return Comparison(op=comparator, left=left, right=right, column=left.column)

    def membership(self, children: list[Any]) -> Membership:
        attribute, keyword, ref = children
        negated = keyword.type == "NOT_IN"
        return Membership(attribute=attribute, list=ref, negated=negated, column=attribute.column)

    def truth(self, children: list[Attribute]) -> Truth:
        return Truth(attribute=children[0], column=children[0].column)

    @v_args(meta=True)
    def negation(self, meta: Any, children: list[Condition]) -> Not:
        return Not(operand=children[0], column=meta.column)

    def conjunction(self, children: list[Condition]) -> All:
        return All(operands=children, column=children[0].column)

    def disjunction(self, children: list[Condition]) -> AnyOf:
        return AnyOf(operands=children, column=children[0].column)


def _refuse_non_ascii(source: str) -> None:
    """Outside quoted strings only ASCII: no Unicode digit, no keyword folded from 'ſ'."""
    quote = None
    for index, char in enumerate(source):
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif not (char.isascii() and (char.isprintable() or char == "\t")):
            raise RuleInvalid(f"unexpected character {char!r}", index + 1, source)


def _deeper_than(tree: Tree[Token], limit: int) -> bool:
    """Whether the parse tree nests past `limit` levels (walked without recursion)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return False


def parse_rule(source: str) -> Rule:
    """The rule's nodes, or RuleInvalid with the column where the text stops making sense."""
    if len(source) > MAX_LENGTH:
        raise RuleInvalid(f"a rule is at most {MAX_LENGTH} characters", MAX_LENGTH + 1, source)
    _refuse_non_ascii(source)
    try:
        tree = _lark().parse(source)
    except UnexpectedEOF:
        raise RuleInvalid("the rule ends too early", len(source) + 1, source) from None
    except UnexpectedCharacters as exc:
        char = source[exc.pos_in_stream or 0]
        raise RuleInvalid(f"unexpected {char!r}", exc.column, source) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise RuleInvalid("the rule ends too early", len(source) + 1, source) from None
        raise RuleInvalid(f"unexpected {exc.token.value!r}", exc.column, source) from None
    except UnexpectedInput as exc:
        raise RuleInvalid("the rule cannot be read", exc.column, source) from None
    if _deeper_than(tree, MAX_DEPTH):
        # The transform and the evaluator recurse: a rule nested hundreds deep would fail
        # there, a 500 as it is saved or every charge of its marketplace refused after.
        raise RuleInvalid(f"a rule nests at most {MAX_DEPTH} levels deep", 1, source)
    try:
        rule: Rule = _ToNodes().transform(tree)
    except VisitError as exc:  # a node refused its value (e.g. a number out of range)
        raise RuleInvalid(str(exc.orig_exc), 1, source) from None
    return rule


def render_operand(node: Attribute | Number | Text | Boolean) -> str:
    match node:
        case Attribute(name=name):
            return f":{name}:"
        case Number(value=value):
            return str(value)
        case Text(value=value):
            return f"'{value}'" if "'" not in value else f'"{value}"'
        case Boolean(value=value):
            return "true" if value else "false"
    raise AssertionError(node)


def render_condition(node: Condition) -> str:
    """Canonical text of a condition; parse_rule reads it back to the same nodes."""
    match node:
        case Comparison(op=op, left=left, right=right):
            return f"{render_operand(left)} {op} {render_operand(right)}"
        case Membership(attribute=attribute, list=ref, negated=negated):
            return f":{attribute.name}: {'not in' if negated else 'in'} @{ref.alias}"
        case Truth(attribute=attribute):
            return f":{attribute.name}:"
        case Not(operand=operand):
            return f"not ({render_condition(operand)})"
        case All(operands=operands):
            return " and ".join(f"({render_condition(o)})" for o in operands)
        case AnyOf(operands=operands):
            return " or ".join(f"({render_condition(o)})" for o in operands)
    raise AssertionError(node)


def render_rule(rule: Rule) -> str:
    head = f"score {rule.points:+d}" if rule.action == "score" else rule.action
    return f"{head} if {render_condition(rule.condition)}"
