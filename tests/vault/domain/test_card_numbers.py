"""The vault's one card-number check: any twelve digits no letter parts, in any script."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.testcards import luhn_check_digit
from vault.domain.card_numbers import REDACTED, holds_card_number, redact_card_numbers

# What parts digits without a letter: every separator the edge's detector knows (space,
# tab, "-", ".", "/", "_"), the ones it does not (":", ",", "+", "|", "*"), several in a
# row, and non-ASCII spaces and dashes.
SEPARATORS = st.text(
    alphabet=st.sampled_from(" \t-./_:,;+|*#()[]'\"\u00a0\u2009\u2013\u2014\u3000"),
    max_size=3,
)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    body = draw(st.text(alphabet="0123456789", min_size=length - 1, max_size=length - 1))
    return body + luhn_check_digit(body)


@st.composite
def written(draw: st.DrawFn) -> str:
    """A card number as someone could type it: grouped by any separators, in a name."""
    number = draw(card_numbers())
    out = ""
    for digit in number:
        out += digit + draw(SEPARATORS)
    out = out.translate(draw(st.sampled_from([{}, ARABIC_INDIC, FULL_WIDTH])))
    return (
        draw(st.sampled_from(["", "Ada ", "Ada Lovelace, "]))
        + out
        + draw(st.sampled_from(["", " Lovelace", "."]))
    )


@given(written())
def test_a_card_number_with_any_separators_in_any_script_is_found(text: str) -> None:
    assert holds_card_number(text)
    assert not any(c.isdigit() for c in redact_card_numbers(text).replace(REDACTED, ""))


@st.composite
def luhn_numbers(draw: st.DrawFn) -> str:
    """Any Luhn-valid number of 12 to 19 digits (generated: no real card is written here)."""
    body = draw(st.text(alphabet="0123456789", min_size=11, max_size=18))
    return body + luhn_check_digit(body)


@st.composite
def grouped(draw: st.DrawFn) -> str:
    """A number split in groups of 1 to 6 digits, joined by spaces, by dashes or by nothing."""
    number = draw(luhn_numbers())
    joiner = draw(st.sampled_from(["", " ", "-", " - "]))
    groups = []
    while number:
        size = draw(st.integers(1, 6))
        groups.append(number[:size])
        number = number[size:]
    return joiner.join(groups)


@given(st.text(), grouped(), st.text())
def test_a_luhn_number_spaced_dashed_or_bare_inside_any_text_is_found(
    before: str, number: str, after: str
) -> None:
    # What surrounds it may add digits but never takes its own away: no letter parts them.
    assert holds_card_number(before + number + after)
    assert number.replace(" ", "").replace("-", "") not in redact_card_numbers(number)


@pytest.mark.parametrize(
    "text",
    [
        "4242 4242 4242 4242",
        "4242:4242:4242:4242",
        "4242,4242,4242,4242",
        "4242.4242.4242.4242",
        "4242 / 4242 / 4242 / 4242",
        "Ada 4242-4242-4242-4242 Lovelace",
        "3782 822463 10005",
        "⁴²⁴²⁴²⁴²⁴²⁴²⁴²⁴²",  # superscripts: NFKC makes them digits
    ],
)
def test_the_separators_the_review_used_are_found(text: str) -> None:
    assert holds_card_number(text)


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd", "No", "Cn"]), max_size=60))
def test_text_without_digits_holds_none(text: str) -> None:
    assert not holds_card_number(text)


def test_digits_of_a_later_unicode_than_this_pythons_count_as_digits() -> None:
    # Kawi digits (Unicode 15): unassigned to Python 3.11, decimal to 3.12's int().
    kawi = "".join(chr(0x11F50 + int(d)) for d in "4242424242424242")
    assert holds_card_number(f"Ada {kawi}")
    assert holds_card_number("4242" + kawi[4:])
    assert not holds_card_number(f"Ada {kawi[:11]}")


@given(st.text(alphabet=st.characters(whitelist_categories=["Cn"]), min_size=12, max_size=30))
def test_twelve_unassigned_characters_together_are_refused(text: str) -> None:
    assert holds_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ada Lovelace",
        "Flat 12, 221B",
        "card_aB3x9Q0w1e2R3t4Y5u6I7o8P",  # a token: letters part its digits
        "merchant:mkt_alpha:publishable:test",
        "port 8084 charge 1000 at 1733290000 seq 12",
        "12345678901",  # eleven digits
    ],
)
def test_fewer_than_twelve_digits_together_are_not_a_card_number(text: str) -> None:
    assert not holds_card_number(text)
