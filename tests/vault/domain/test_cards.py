"""Card checks: brand from BIN, expiry, CVC length, the order of checks, new tokens."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.testcards import luhn_check_digit
from vault.domain.cards import (
    brand_of,
    check_card,
    check_cvc,
    check_expiry,
    check_number,
    new_token,
)
from vault.errors import CardError, VaultError

TODAY = dt.date(2030, 6, 15)


def _number(prefix: str, length: int) -> st.SearchStrategy[str]:
    body = st.text(
        alphabet="0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1
    )
    return body.map(lambda b: prefix + b + luhn_check_digit(prefix + b))


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        # Built here, not written out: numbers outside the documented test cards.
        ("222300000000000" + luhn_check_digit("222300000000000"), "mastercard"),
        ("999999999999999" + luhn_check_digit("999999999999999"), "unknown"),
    ],
)
def test_brand_from_bin(number: str, brand: str) -> None:
    assert brand_of(number) == brand


@given(st.one_of(_number("4", 16), _number("4", 19), _number("4", 13)))
def test_every_number_starting_with_4_is_visa(number: str) -> None:
    assert brand_of(number) == "visa"


@given(st.integers(51, 55).flatmap(lambda p: _number(str(p), 16)))
def test_51_to_55_is_mastercard(number: str) -> None:
    assert brand_of(number) == "mastercard"


@given(st.integers(2221, 2720).flatmap(lambda p: _number(str(p), 16)))
def test_2221_to_2720_is_mastercard(number: str) -> None:
    assert brand_of(number) == "mastercard"


@given(st.sampled_from(["34", "37"]).flatmap(lambda p: _number(p, 15)))
def test_34_and_37_are_amex_with_a_four_digit_cvc(number: str) -> None:
    assert brand_of(number) == "amex"
    assert check_cvc("1234", "amex").reveal() == "1234"
    with pytest.raises(CardError):
        check_cvc("123", "amex")


@given(st.text(alphabet="0123456789", min_size=13, max_size=19))
def test_check_number_accepts_exactly_the_luhn_valid_numbers(number: str) -> None:
    from vault.domain.luhn import luhn_valid

    if luhn_valid(number):
        assert check_number(number).reveal() == number
    else:
        with pytest.raises(CardError) as caught:
            check_number(number)
        assert caught.value.code == "incorrect_number"
        assert number not in str(caught.value)


def test_a_card_is_good_through_its_expiry_month() -> None:
    check_expiry(6, 2030, TODAY)
    with pytest.raises(CardError) as caught:
        check_expiry(5, 2030, TODAY)
    assert caught.value.code == "expired_card"


def test_bad_month_and_year_have_their_own_codes() -> None:
    for month, year, code in [
        (0, 2031, "invalid_expiry_month"),
        (13, 2031, "invalid_expiry_month"),
        (1, 31, "invalid_expiry_year"),
        (1, 2081, "invalid_expiry_year"),
    ]:
        with pytest.raises(CardError) as caught:
            check_expiry(month, year, TODAY)
        assert caught.value.code == code


def test_unknown_brands_take_three_or_four_digit_cvcs() -> None:
    assert check_cvc("123", "unknown").reveal() == "123"
    assert check_cvc("1234", "unknown").reveal() == "1234"
    for bad in ("12", "12345", "12a", "١٢٣"):
        with pytest.raises(CardError):
            check_cvc(bad, "unknown")


def test_check_card_reports_the_number_first() -> None:
    with pytest.raises(CardError) as caught:
        check_card("4242424242424241", 13, 1999, "x", TODAY)
    assert caught.value.param == "number"


def test_check_card_wraps_the_secrets() -> None:
    card = check_card("4242424242424242", 1, 2031, "123", TODAY)
    assert "4242424242424242" not in repr(card)
    assert "123" not in repr(card).replace("4242", "")
    assert card.brand == "visa"


def test_tokens_are_card_and_24_base62_characters_and_do_not_repeat() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(re.fullmatch(r"card_[A-Za-z0-9]{24}", t) for t in tokens)


@pytest.mark.parametrize(
    "name", ["4242424242424242", "Ada 4242 4242 4242 4242", "x 4242-4242-4242-4242"]
)
def test_a_name_holding_a_card_number_is_refused(name: str) -> None:
    from vault.domain.cards import check_name

    with pytest.raises(VaultError) as caught:
        check_name(name)
    assert caught.value.param == "name" and "4242" not in caught.value.message


def test_ordinary_names_pass() -> None:
    from vault.domain.cards import check_name

    assert check_name("Ada Lovelace") == "Ada Lovelace"
    assert check_name("Flat 12, 221B") == "Flat 12, 221B"
    assert check_name(None) is None


# A name of letters, marks, spaces and a little punctuation, as a shopper types one.
NAMES = st.text(
    st.characters(categories=["L", "M", "Zs"], include_characters=".,'-"), max_size=60
).filter(lambda name: not any(c.isdigit() for c in name))
CONTROL = st.characters(categories=["Cc", "Cs"])


@given(NAMES)
def test_any_name_a_shopper_types_passes(name: str) -> None:
    from vault.domain.cards import check_name

    assert check_name(name) == name


@given(NAMES, CONTROL, NAMES)
def test_a_name_holding_a_control_character_or_a_lone_surrogate_is_refused(
    before: str, bad: str, after: str
) -> None:
    # PostgreSQL refuses a NUL and no encoding stores a lone surrogate: a 400, not a 500.
    from vault.domain.cards import check_name

    with pytest.raises(VaultError) as caught:
        check_name(before + bad + after)
    assert caught.value.param == "name" and caught.value.code == "parameter_invalid"
