import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect.candidates import Finding
from edge_proxy.detect.json_body import MalformedJson, find_in_json, integer_part
from tests.edge_proxy.cards import luhn_breaks, luhn_complete, pans


def number_forms(pan: str) -> list[str]:
    """The same integer, written as JSON numbers in several ways."""
    n = len(pan)
    return [
        pan,
        f"-{pan}",
        f"{pan}.0",
        f"{pan[0]}.{pan[1:]}e{n - 1}",
        f"{pan[0]}.{pan[1:]}E+{n - 1}",
        f"{pan}0e-1",
        f"{pan}00E-2",
        f"0.{pan}e{n}",
        f"0.000{pan}e{n + 3}",
    ]


def test_a_card_in_a_string_is_found():
    assert find_in_json('{"memo": "4242 4242 4242 4242"}') == Finding(16)


@given(pans())
def test_a_card_in_any_number_form_is_found(pan):
    for form in number_forms(pan):
        assert find_in_json('{"amount": ' + form + "}") == Finding(len(pan)), form


def test_the_exact_value_decides_not_a_float():
    pan = luhn_complete("49" + "3" * 16)  # 19 digits: float would round it
    assert float(pan) != int(pan)
    assert find_in_json(f"[{pan[0]}.{pan[1:]}e18]") == Finding(19)


def test_fraction_digits_are_not_a_card():
    assert find_in_json("[5.960464477539063e-08, 0.4242424242424242, 0.30000000000000004]") is None
    assert integer_part("4242.4242424242424") is None
    assert integer_part("4242424242424242.99") == "4242424242424242"


def test_escaped_digits_in_a_string_are_found():
    escaped = "".join(f"\\u{ord(c):04x}" for c in "4242424242424242")
    assert find_in_json('{"memo": "' + escaped + '"}') == Finding(16)


def test_a_duplicate_key_cannot_hide_a_card():
    escaped = "".join(f"\\u{ord(c):04x}" for c in "4000000000000002")
    assert find_in_json('{"memo": "' + escaped + '", "memo": "fine"}') == Finding(16)
    assert find_in_json('{"memo": "4000000000000002", "memo": "fine"}') == Finding(16)


def test_a_card_in_a_key_is_found():
    assert find_in_json('{"4242424242424242": 1}') == Finding(16)


def test_deep_nesting_is_refused_or_read_without_recursion():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(MalformedJson):
        find_in_json(deep)
    assert find_in_json("[" * 500 + '"4242424242424242"' + "]" * 500) == Finding(16)


def test_invalid_json_is_malformed():
    with pytest.raises(MalformedJson):
        find_in_json('{"a": ')


def test_huge_exponents_are_not_written_out():
    assert find_in_json("[1e999999999, 1e-999999999, NaN, Infinity]") is None


@given(
    st.dictionaries(
        st.sampled_from(["amount", "created", "id", "ratio", "count"]),
        st.one_of(
            st.integers(0, 10**12),
            st.integers(10**19, 10**40),
            st.floats(-1e12, 1e12),  # larger: an integer part of 13+ digits, by rule a card
            pans().map(luhn_breaks).map(int),
        ),
    )
)
def test_pan_free_documents_pass(document):
    assert find_in_json(json.dumps(document)) is None


def test_integer_part_is_written_out_in_full():
    assert integer_part("-1e18") == "1" + "0" * 18
    assert integer_part("4242424242424242000e-3") == "4242424242424242"
    assert integer_part("1e12") == "1" + "0" * 12
    assert integer_part("9.99e11") is None
    assert integer_part("1e19") is None
