from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect.luhn import luhn_valid
from tests.edge_proxy.cards import TEST_CARDS, luhn_breaks, luhn_complete


def test_documented_test_cards_are_luhn_valid():
    assert all(luhn_valid(card) for card in TEST_CARDS)


def test_known_invalid_numbers_fail():
    assert not luhn_valid("4242424242424241")
    assert not luhn_valid("79927398710")
    assert luhn_valid("79927398713")  # the textbook example


@given(st.text("0123456789", min_size=1, max_size=30))
def test_completed_numbers_pass_and_a_wrong_check_digit_fails(partial):
    number = luhn_complete(partial)
    assert luhn_valid(number)
    assert not luhn_valid(luhn_breaks(number))


@given(st.text("0123456789", min_size=1, max_size=30), st.integers(0, 5))
def test_leading_zeros_do_not_change_the_result(number, zeros):
    assert luhn_valid("0" * zeros + number) == luhn_valid(number)
