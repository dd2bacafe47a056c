import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraud.rules.errors import RuleInvalid
from fraud.rules.nodes import All, Attribute, Comparison, Membership, Number, Truth
from fraud.rules.parser import parse_rule, render_rule
from tests.fraud.rules.strategies import rules, shape


def test_the_examples_of_the_language_parse_to_their_nodes() -> None:
    rule = parse_rule("block if :card_velocity_1h: > 5 and :amount: >= 50000")
    assert rule.action == "block"
    assert isinstance(rule.condition, All)
    first, second = rule.condition.operands
    assert first == Comparison(
        op=">",
        left=Attribute(name="card_velocity_1h", column=10),
        right=Number(value=5, column=31),
        column=10,
    )
    assert isinstance(second, Comparison) and second.right == Number(value=50000, column=49)

    review = parse_rule("review if :bin_country: != :ip_country:")
    assert isinstance(review.condition, Comparison) and review.condition.op == "!="

    allow = parse_rule("allow if :card_fingerprint: in @trusted_cards")
    assert isinstance(allow.condition, Membership)
    assert (allow.condition.list.alias, allow.condition.negated) == ("trusted_cards", False)

    score = parse_rule("score +20 if :is_new_customer:")
    assert (score.action, score.points) == ("score", 20)
    assert isinstance(score.condition, Truth)


def test_keywords_are_case_insensitive_and_not_in_is_one_operator() -> None:
    rule = parse_rule("Block IF :email: NOT IN @blocked_emails")
    assert rule.action == "block"
    assert isinstance(rule.condition, Membership) and rule.condition.negated


def test_and_binds_tighter_than_or() -> None:
    rule = parse_rule("review if :livemode: or :is_new_customer: and :amount: > 1")
    assert rule.condition.kind == "or"


@pytest.mark.parametrize(
    ("source", "column"),
    [
        ("block if :amount: >", 20),
        ("block if :amount: ! 3", 19),
        ("block :amount: > 3", 7),
        ("score 20 if :livemode:", 7),
        ("block if :amount: > 1\u0663", 22),  # ARABIC-INDIC DIGIT THREE
        ("\u017fcore +1 if :livemode:", 1),  # LATIN SMALL LETTER LONG S folds to 's'
        ("block if :Amount: > 3", 10),
        ("block if (:amount: > 3", 23),
    ],
)
def test_a_malformed_rule_is_refused_at_its_column(source: str, column: int) -> None:
    with pytest.raises(RuleInvalid) as caught:
        parse_rule(source)
    assert caught.value.column == column
    assert caught.value.status_code == 400 and caught.value.param == "predicate"


@given(rules)
def test_rendering_then_parsing_gives_back_the_same_rule(rule) -> None:
    again = parse_rule(render_rule(rule))
    assert shape(again.model_dump()) == shape(rule.model_dump())


@given(st.text(max_size=80))
def test_any_text_either_parses_or_is_refused_with_a_column(source: str) -> None:
    try:
        parse_rule(source)
    except RuleInvalid as exc:
        assert 1 <= exc.column <= len(source) + 1


@given(st.text(alphabet=" :@()'<>=!+-0123456789abcdefghilnorstuvwxyz_", max_size=60))
def test_near_miss_text_never_raises_anything_but_rule_invalid(source: str) -> None:
    with contextlib.suppress(RuleInvalid):
        parse_rule(source)
