from hypothesis import given
from hypothesis import strategies as st

from strongroom.testcards import TEST_CARDS, generated_card, luhn_check_digit


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def test_documented_test_cards_are_luhn_valid() -> None:
    assert all(luhn_valid(card) for card in TEST_CARDS)
    assert luhn_check_digit("424242424242424") == "2"


@given(st.from_regex(r"\A[0-9]{12,18}\Z"))
def test_check_digit_makes_any_number_luhn_valid_and_only_one_does(partial: str) -> None:
    valid = [d for d in "0123456789" if luhn_valid(partial + d)]
    assert valid == [luhn_check_digit(partial)]


@given(st.sampled_from(["4", "51", "37", "6011"]), st.integers(13, 19))
def test_generated_cards_are_luhn_valid_and_never_test_cards(prefix: str, length: int) -> None:
    card = generated_card(prefix, length)
    assert len(card) == length and card.startswith(prefix)
    assert luhn_valid(card) and card not in TEST_CARDS


def test_the_vaults_test_network_knows_exactly_these_cards_and_their_declines() -> None:
    from strongroom import testcards
    from vault.domain import test_network

    assert set(test_network.TEST_CARDS) == TEST_CARDS
    declines = {n: code for n, code in test_network.TEST_CARDS.items() if code is not None}
    assert declines == testcards.DECLINES
    assert len(TEST_CARDS) == len(testcards.BRANDS) + len(testcards.DECLINES) + 2
