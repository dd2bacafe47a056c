import pytest
from hypothesis import given

from fraud.rules.check import check_rule
from fraud.rules.errors import RuleInvalid
from fraud.rules.parser import parse_rule, render_rule
from tests.fraud.rules.strategies import LISTS, rules

KNOWN_LISTS = {"blocked_emails": "email", "trusted_cards": "card_fingerprint", **LISTS}


def check(source: str) -> None:
    check_rule(parse_rule(source), KNOWN_LISTS, source)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "column", "words"),
    [
        ("block if :card_speed: > 3", 10, "unknown attribute :card_speed:"),
        ("block if :email: > 3", 10, "compares numbers"),
        ("block if :amount: = 'ten'", 10, "compares a number with a string"),
        ("block if :amount: > 3 and :is_new_customer: = 1", 27, "boolean with a number"),
        ("block if :email: in @nope", 21, "no value list @nope"),
        ("block if :email: in @trusted_cards", 21, "holds card_fingerprint values"),
        ("block if :amount: in @anything", 10, "not a string"),
        ("review if :amount:", 11, "not a boolean"),
        ("block if 3 > 2", 10, "needs at least one attribute"),
    ],
)
def test_a_rule_that_does_not_type_check_is_refused_at_its_column(
    source: str, column: int, words: str
) -> None:
    with pytest.raises(RuleInvalid) as caught:
        check(source)
    assert caught.value.column == column
    assert words in caught.value.message


def test_well_typed_rules_pass() -> None:
    check("block if :card_velocity_1h: > 5 and :amount: >= 50000")
    check("review if :bin_country: != :ip_country:")
    check("allow if :card_fingerprint: in @trusted_cards")
    check("block if :email: not in @blocked_emails or :email_domain: in @anything")
    check("score +20 if :is_new_customer:")


@given(rules)
def test_every_generated_rule_type_checks(rule) -> None:
    source = render_rule(rule)
    check_rule(parse_rule(source), KNOWN_LISTS, source)  # type: ignore[arg-type]
