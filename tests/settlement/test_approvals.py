"""Fraud's approval of a held charge's capture: an unexpired `allow` for exactly that charge."""

from __future__ import annotations

from typing import Any

import pytest

from settlement.approvals import verify_approval
from tests.vault.domain.test_clearance import EXPECTED, KEY, LIFETIME, NOW, canonical, signed
from vault.domain.clearance import CardFacts
from vault.errors import ClearanceRefused


def test_an_approval_is_an_unexpired_allow_for_exactly_the_held_charge() -> None:
    key = KEY.public_key()
    assert verify_approval(key, *signed(canonical()), EXPECTED, NOW, LIFETIME) == CardFacts(
        "424242", "4242", "fp_abc"
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"decision": "review"}, "approves nothing"),
        ({"expires_at": NOW}, "expired"),
        ({"expires_at": NOW + LIFETIME + 1}, "longer"),
        ({"amount": 999}, "amount"),
        ({"charge_id": "ch_2"}, "charge_id"),
    ]
    for changes, reason in cases:
        with pytest.raises(ClearanceRefused, match=reason):
            verify_approval(key, *signed(canonical(**changes)), EXPECTED, NOW, LIFETIME)
