"""The charge and refund state machines: the legal moves and nothing else."""

from __future__ import annotations

import itertools

import pytest

from api.domain.states import (
    CHARGE_STATUSES,
    CHARGE_TRANSITIONS,
    EVENT_TYPES,
    REFUND_STATUSES,
    IllegalTransition,
    charge_event,
    refund_event,
)


def test_each_legal_charge_move_records_its_event() -> None:
    assert charge_event("pending", "succeeded") == "charge.succeeded"
    assert charge_event("authorized", "succeeded") == "charge.captured"
    assert charge_event("authorized", "canceled") == "charge.canceled"
    assert refund_event("pending", "failed") == "refund.failed"


@pytest.mark.parametrize(
    ("current", "new"),
    [
        pair
        for pair in itertools.product(CHARGE_STATUSES, repeat=2)
        if pair not in CHARGE_TRANSITIONS
    ],
)
def test_every_other_charge_move_is_refused(current: str, new: str) -> None:
    with pytest.raises(IllegalTransition) as caught:
        charge_event(current, new)
    assert caught.value.status_code == 400


def test_terminal_states_have_no_way_out() -> None:
    for terminal in ("failed", "blocked", "canceled"):
        assert not [pair for pair in CHARGE_TRANSITIONS if pair[0] == terminal]
    for status in REFUND_STATUSES[1:]:
        for new in REFUND_STATUSES:
            with pytest.raises(IllegalTransition):
                refund_event(status, new)


def test_every_transition_event_is_a_known_event_type() -> None:
    assert set(CHARGE_TRANSITIONS.values()) <= set(EVENT_TYPES)
