"""Card number and CVC as types that never print themselves.

Anything that formats one of these — a log call, an f-string, a repr in a traceback or a
debugger — sees a mask. The digits leave only through `reveal()`, which is greppable.
"""

from __future__ import annotations

from typing import NoReturn


class _Secret:
    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = digits

    def reveal(self) -> str:
        """The digits: for encryption, Luhn, the fingerprint and the card network (a CVC's
        for encryption and its first authorisation only)."""
        return self._digits

    def __reduce__(self) -> NoReturn:
        # Pickling would write the digits to wherever the pickle goes (caches, queues, disk).
        raise TypeError(f"a {type(self).__name__} cannot be pickled")


class Pan(_Secret):
    """A primary account number; str() and repr() show only the last four digits."""

    __slots__ = ()

    @property
    def bin(self) -> str:
        return self._digits[:6]

    @property
    def last4(self) -> str:
        return self._digits[-4:]

    def __repr__(self) -> str:
        return f"Pan(****{self.last4})"

    __str__ = __repr__


class Cvc(_Secret):
    """A card verification code; str() and repr() show nothing of it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Cvc(***)"

    __str__ = __repr__
