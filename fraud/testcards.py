"""The documented test cards whose fraud outcome is fixed, known by BIN and last four only.

They apply in test mode alone and before any rule, so a merchant's rules never change what
the documentation promises. The reasons name the last four only: a whole card number,
even a test card's, is never written in the app zone (and the edge withholds any answer
that carries one).
"""

from __future__ import annotations

from typing import Literal

FIXED_OUTCOMES: dict[tuple[str, str], tuple[Literal["block", "review"], int, str]] = {
    ("410000", "0019"): ("block", 100, "The test card ending 0019 is always blocked"),
    ("400000", "4954"): ("review", 70, "The test card ending 4954 is always held for review"),
}
