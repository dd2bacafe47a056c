"""The documented test cards whose fraud outcome is fixed, known by BIN and last four only.

They apply in test mode alone and before any rule, so a merchant's rules never change what
the documentation promises: 4100 0000 0000 0019 is always blocked, 4000 0000 0000 4954 is
always held for review.
"""

from __future__ import annotations

from typing import Literal

FIXED_OUTCOMES: dict[tuple[str, str], tuple[Literal["block", "review"], int, str]] = {
    ("410000", "0019"): ("block", 100, "Test card 4100 0000 0000 0019: always blocked"),
    ("400000", "4954"): ("review", 70, "Test card 4000 0000 0000 4954: always held for review"),
}
