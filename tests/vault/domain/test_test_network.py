"""Test-mode outcomes are deterministic and follow the documented test cards."""

from __future__ import annotations

from vault.domain.secret import Pan
from vault.domain.test_network import FAILURE_MESSAGES, authorize_test, is_test_card


def test_declining_cards_decline_with_their_codes() -> None:
    assert authorize_test(Pan("4000000000000002"), "ch_1").failure_code == "card_declined"
    assert authorize_test(Pan("4000000000009995"), "ch_1").failure_code == "insufficient_funds"
    assert all(code in FAILURE_MESSAGES for code in ("card_declined", "insufficient_funds"))


def test_other_cards_succeed_with_an_authorization_code_fixed_by_the_charge_id() -> None:
    first = authorize_test(Pan("4242424242424242"), "ch_1")
    assert first.approved and first.failure_code is None
    assert first == authorize_test(Pan("5555555555554444"), "ch_1")
    assert (
        first.authorization_code
        != authorize_test(Pan("4242424242424242"), "ch_2").authorization_code
    )


def test_only_documented_numbers_are_test_cards() -> None:
    assert is_test_card(Pan("378282246310005"))
    assert not is_test_card(Pan("4242424242424241"))
