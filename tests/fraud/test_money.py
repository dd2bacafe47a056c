"""fraud.money's rate table, read with the API's ISO 4217 exponents: a whole unit of each
currency is worth what it is, within a factor of two, so a dollar threshold in a rule
holds whatever the currency a charge is made in."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.domain.money import EXPONENTS
from fraud.money import MICRO, USD_MICRO_CENTS_PER_MINOR_UNIT, amount_usd

# US dollars a whole unit is worth, roughly (2024-2026): an independent reading, not the
# table's; a factor-of-ten slip (a rate given per whole unit where per minor unit is due,
# or the other way) is far outside the band allowed.
DOLLARS_PER_UNIT = {
    "usd": "1", "eur": "1.08", "gbp": "1.27", "chf": "1.13", "cad": "0.73", "aud": "0.66",
    "nzd": "0.60", "sgd": "0.74", "hkd": "0.128", "cny": "0.138", "sek": "0.095",
    "nok": "0.094", "dkk": "0.145", "pln": "0.25", "czk": "0.043", "huf": "0.0028",
    "ron": "0.217", "inr": "0.012", "brl": "0.18", "mxn": "0.055", "zar": "0.054",
    "jpy": "0.0067", "krw": "0.00073", "clp": "0.00105", "isk": "0.0072", "vnd": "0.00004",
    "bhd": "2.65", "jod": "1.41", "kwd": "3.25", "omr": "2.60", "tnd": "0.32",
}  # fmt: skip


def test_every_currency_the_api_settles_has_a_rate() -> None:
    assert set(USD_MICRO_CENTS_PER_MINOR_UNIT) == set(EXPONENTS) == set(DOLLARS_PER_UNIT)


@pytest.mark.parametrize("currency", sorted(EXPONENTS))
def test_a_whole_unit_is_worth_what_it_is(currency: str) -> None:
    rate = USD_MICRO_CENTS_PER_MINOR_UNIT[currency]
    dollars = Fraction(rate * 10 ** EXPONENTS[currency], MICRO * 100)
    expected = Fraction(DOLLARS_PER_UNIT[currency])
    assert expected / 2 <= dollars <= expected * 2, (currency, float(dollars))


def test_a_million_yen_is_thousands_of_dollars_not_tens() -> None:
    assert 5_000_00 <= (amount_usd(1_000_000, "jpy") or 0) <= 8_000_00


@given(st.sampled_from(sorted(EXPONENTS)), st.integers(0, 99_999_999), st.integers(0, 99_999_999))
def test_more_money_is_never_fewer_cents(currency: str, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert (amount_usd(low, currency) or 0) <= (amount_usd(high, currency) or 0)
