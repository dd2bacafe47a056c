"""Card country and funding by BIN, from the table in data/bins.csv."""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE = Path(__file__).parent / "data" / "bins.csv"


@dataclass(frozen=True)
class BinRange:
    first: int
    last: int
    brand: str
    country: str
    funding: str


@cache
def _ranges() -> tuple[list[int], list[BinRange]]:
    rows = [line for line in TABLE.read_text().splitlines() if not line.startswith("#")]
    ranges = sorted(
        (
            BinRange(int(r["first"]), int(r["last"]), r["brand"], r["country"], r["funding"])
            for r in csv.DictReader(rows)
        ),
        key=lambda r: (r.first, -r.last),
    )
    return [r.first for r in ranges], ranges


def lookup(bin: str) -> BinRange | None:
    """The narrowest range holding this six-digit BIN, or None."""
    if len(bin) != 6 or not bin.isascii() or not bin.isdigit():
        return None
    value = int(bin)
    starts, ranges = _ranges()
    found = None
    for candidate in ranges[: bisect.bisect_right(starts, value)]:
        if candidate.first <= value <= candidate.last and (
            found is None or candidate.last - candidate.first < found.last - found.first
        ):
            found = candidate
    return found
