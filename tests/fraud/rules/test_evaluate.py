from hypothesis import given
from hypothesis import strategies as st

from fraud.rules.evaluate import compile_condition
from fraud.rules.nodes import attributes_of
from fraud.rules.parser import parse_rule
from tests.fraud.rules.strategies import conditions

LISTS = {"anything": frozenset({"a@example.com", "fp1"})}


def matches(source: str, **values: object) -> bool | None:
    return compile_condition(parse_rule(source).condition)(values, LISTS)  # type: ignore[arg-type]


def test_comparisons_on_present_values() -> None:
    assert matches("block if :amount: >= 100", amount=100) is True
    assert matches("block if :amount: >= 100", amount=99) is False
    assert matches("block if :email: in @anything", email="a@example.com") is True
    assert matches("block if :email: not in @anything", email="a@example.com") is False


def test_a_missing_value_never_matches_not_even_under_not() -> None:
    assert matches("block if :email: in @anything") is None
    assert matches("block if not :email: in @anything") is None
    assert matches("block if :email: != 'x'") is None
    assert matches("block if not :is_new_customer:") is None


def test_and_or_follow_kleene() -> None:
    assert matches("block if :amount: > 1 and :email: = 'x'", amount=0) is False
    assert matches("block if :amount: > 1 or :email: = 'x'", amount=2) is True
    assert matches("block if :amount: > 1 or :email: = 'x'", amount=0) is None


@given(conditions)
def test_a_condition_whose_values_are_all_missing_never_matches(condition) -> None:
    assert compile_condition(condition)({}, LISTS) is not True


@given(conditions, st.data())
def test_not_is_the_exact_opposite_when_every_value_is_present(condition, data) -> None:
    values: dict[str, object] = {}
    for attribute in attributes_of(condition):
        values[attribute.name] = data.draw(
            st.integers(0, 5) | st.booleans() | st.sampled_from(["fp1", "x"])
        )
    try:
        result = compile_condition(condition)(values, LISTS)  # type: ignore[arg-type]
    except TypeError:  # a value of the wrong type drawn for an attribute: not a rule's case
        return
    assert result in (True, False)
