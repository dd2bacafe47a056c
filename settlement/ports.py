"""What settlement asks of the vault that hosts it: the network and the mode.

Each is a protocol that the vault's app fills (vault.app.build), so settlement
names none of the vault's card-holding modules, not even as a type.
"""

from __future__ import annotations

from typing import Protocol


class Answer(Protocol):
    """The network's answer to a capture, void or refund."""

    @property
    def approved(self) -> bool: ...

    @property
    def failure_code(self) -> str | None: ...


class Network(Protocol):
    """The card network's captures, voids and refunds (vault.app.SettlementNetwork): each
    message names the authorisation by its id and goes under its idempotency key."""

    def first_answer(self, kind: str, body: dict[str, object]) -> Answer:
        """The answer to a message sent for the first time (vault.cardnet.first_answer)."""
        ...

    def ask_again(self, kind: str, body: dict[str, object]) -> Answer | None:
        """The answer to a message sent again after its answer was lost; None while still
        unanswered."""
        ...


class Credentials(Protocol):
    """The mode of the calling API stack, from its service credential (vault.auth)."""

    def livemode(self, header: str | None) -> bool: ...
