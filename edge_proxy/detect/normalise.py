"""Text as a reader sees it: one spelling for every digit, nothing invisible between them.

The detector only ever matches ASCII digits, so everything a person or a program could
read as a digit is brought to ASCII first:

- NFKC folds compatibility forms: full-width, mathematical and circled digits, superscripts,
  no-break and other fixed-width spaces.
- Every character with a Unicode decimal value (Arabic-Indic, Devanagari, Thai, … digits)
  becomes its ASCII digit; Python's ``int()`` and ``re``'s ``\\d`` accept those too.
- Format characters (category Cf: zero-width space and joiners, soft hyphen, BOM, bidi
  marks) and combining marks (Mn, Me) are removed: they are invisible or sit on the
  character before them, so they cannot separate two digits for a reader.
- Every whitespace becomes a space and every dash (Pd, and the minus sign) a hyphen, so
  the separators of a card number written in groups are few and ASCII.
"""

from __future__ import annotations

import unicodedata

_REMOVED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
_CACHE_LIMIT = 65_536


def _fold(char: str) -> str | None:
    """The ASCII stand-in for one non-ASCII character, None to drop it, or itself."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return chr(48 + digit)
    category = unicodedata.category(char)
    if category in _REMOVED_CATEGORIES:
        return None
    if char.isspace():
        return " "
    if category == "Pd" or char == "\u2212":
        return "-"
    return char


class _FoldTable(dict[int, str | None]):
    """A `str.translate` table filled on demand, so only characters actually seen cost."""

    def __missing__(self, code: int) -> str | None:
        folded = _fold(chr(code))
        if len(self) < _CACHE_LIMIT:  # bounded: a body cannot grow the table without end
            self[code] = folded
        return folded


_TABLE = _FoldTable()


def normalise(text: str) -> str:
    """`text` with every digit in ASCII and no invisible character left between digits."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_TABLE)
