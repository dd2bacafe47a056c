from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.domain.money import EXPONENTS, exponent, format_amount


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1050, "usd", "10.50 USD"),
        (5, "eur", "0.05 EUR"),
        (1050, "jpy", "1050 JPY"),
        (1, "kwd", "0.001 KWD"),
        (-250, "gbp", "-2.50 GBP"),
    ],
)
def test_format_amount_known_answers(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


@given(st.integers(-(10**12), 10**12), st.sampled_from(sorted(EXPONENTS)))
def test_formatted_amount_is_exactly_the_minor_units(amount: int, currency: str) -> None:
    number, code = format_amount(amount, currency).split(" ")
    assert code == currency.upper()
    assert Decimal(number) * 10 ** exponent(currency) == amount


def test_unknown_currency_has_no_exponent() -> None:
    with pytest.raises(KeyError):
        exponent("xxx")
