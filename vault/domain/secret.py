"""Card number and CVC as types that never print themselves.

Anything that formats one of these — a log call, an f-string, a repr in a traceback or a
debugger — sees a mask. The digits leave only through `reveal()`, which is greppable.
"""

from __future__ import annotations

from typing import NoReturn


class Pan:
    """A primary account number; str() and repr() show only the last four digits."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = digits

    def reveal(self) -> str:
        """The full number, for encryption, Luhn, the fingerprint and the card network."""
        return self._digits

    @property
    def bin(self) -> str:
        return self._digits[:6]

    @property
    def last4(self) -> str:
        return self._digits[-4:]

    def __repr__(self) -> str:
        return f"Pan(****{self.last4})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # Pickling would write the digits to wherever the pickle goes (caches, queues, disk).
        raise TypeError("a Pan cannot be pickled")


class Cvc:
    """A card verification code; str() and repr() show nothing of it."""

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = digits

    def reveal(self) -> str:
        """The digits, for encryption and the first authorisation only."""
        return self._digits

    def __repr__(self) -> str:
        return "Cvc(***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Cvc cannot be pickled")
