"""Card brands by issuer identification number (IIN) prefix and length: the brand rule.

A digit string is a brand's number when it starts with one of the brand's prefixes and
has one of its lengths. The table is data (`iin_ranges.json`, with its source named in
it), read once at import. Ranges are expanded into one set of prefixes per prefix
length, so a look-up is a handful of dictionary probes, whatever the number.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

TABLE = Path(__file__).with_name("iin_ranges.json")


@dataclass(frozen=True)
class Brand:
    """One brand of the table: its name, lengths and printed grouping."""

    name: str
    lengths: frozenset[int]
    gaps: tuple[int, ...]

    def grouping(self, length: int) -> tuple[int, ...]:
        """Group sizes of a number of this length as the brand prints it."""
        cuts = [0, *(gap for gap in self.gaps if gap < length), length]
        return tuple(b - a for a, b in itertools.pairwise(cuts))


def _prefixes(pattern: str | list[str]) -> list[str]:
    if isinstance(pattern, str):
        return [pattern]
    low, high = pattern
    if len(low) != len(high) or int(low) > int(high):
        raise ValueError(f"{TABLE.name}: bad range {pattern}")  # loud at import
    return [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]


def _load() -> tuple[list[Brand], dict[int, dict[str, tuple[Brand, ...]]]]:
    data = json.loads(TABLE.read_text("utf-8"))
    brands: list[Brand] = []
    by_length: dict[int, dict[str, tuple[Brand, ...]]] = {}
    for entry in data["brands"]:
        brand = Brand(entry["brand"], frozenset(entry["lengths"]), tuple(entry["gaps"]))
        brands.append(brand)
        for pattern in entry["patterns"]:
            for prefix in _prefixes(pattern):
                table = by_length.setdefault(len(prefix), {})
                if brand not in table.get(prefix, ()):
                    table[prefix] = (*table.get(prefix, ()), brand)
    return brands, by_length


BRANDS, _BY_PREFIX_LENGTH = _load()
_PREFIX_LENGTHS = sorted(_BY_PREFIX_LENGTH)


def brands_of(digits: str) -> list[Brand]:
    """The brands whose prefix and length `digits` (ASCII, no leading zero) has."""
    found: list[Brand] = []
    length = len(digits)
    for size in _PREFIX_LENGTHS:
        for brand in _BY_PREFIX_LENGTH[size].get(digits[:size], ()):
            if length in brand.lengths and brand not in found:
                found.append(brand)
    return found


def has_brand(digits: str) -> bool:
    """True when `digits` has some brand's prefix and one of that brand's lengths."""
    length = len(digits)
    for size in _PREFIX_LENGTHS:
        for brand in _BY_PREFIX_LENGTH[size].get(digits[:size], ()):
            if length in brand.lengths:
                return True
    return False
