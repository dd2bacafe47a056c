"""The Luhn check digit: known vectors and properties against an independent oracle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from strongroom.testcards import luhn_check_digit
from vault.domain.luhn import is_ascii_digits, luhn_valid

digits = st.text(alphabet="0123456789", min_size=1, max_size=30)


def _oracle(number: str) -> bool:
    """Luhn written the other way round: double every second digit from the right."""
    doubled = [int(c) for c in number[::-1]]
    total = sum(d if i % 2 == 0 else sum(divmod(d * 2, 10)) for i, d in enumerate(doubled))
    return total % 10 == 0


def test_documented_test_cards_are_luhn_valid() -> None:
    for number in (
        "4242424242424242",
        "4000000000000002",
        "4000000000009995",
        "4100000000000019",
        "4000000000004954",
        "5555555555554444",
        "378282246310005",
    ):
        assert luhn_valid(number)


def test_known_invalid_numbers() -> None:
    assert not luhn_valid("4242424242424241")
    assert not luhn_valid("79927398710")
    assert luhn_valid("79927398713")


@given(digits)
def test_agrees_with_an_independent_implementation(number: str) -> None:
    assert luhn_valid(number) == _oracle(number)


@given(digits)
def test_the_check_digit_makes_any_prefix_valid(partial: str) -> None:
    assert luhn_valid(partial + luhn_check_digit(partial))


@given(digits, st.data())
def test_any_single_digit_change_is_detected(partial: str, data: st.DataObject) -> None:
    number = partial + luhn_check_digit(partial)
    position = data.draw(st.integers(0, len(number) - 1))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not luhn_valid(number[:position] + replacement + number[position + 1 :])


@given(st.text(max_size=20).filter(lambda s: not (s.isascii() and s.isdigit())))
def test_anything_but_ascii_digits_is_invalid(text: str) -> None:
    assert not is_ascii_digits(text)
    assert not luhn_valid(text)


def test_non_ascii_digits_are_not_digits() -> None:
    assert not is_ascii_digits("٤٢٤٢")
    assert not is_ascii_digits("４２４２")
    assert not is_ascii_digits("")
