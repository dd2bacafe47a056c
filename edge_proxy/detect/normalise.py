"""Text as a reader sees it: one spelling for every digit, nothing invisible between them.

The detector only ever matches ASCII digits, so everything a person or a program could
read as a digit is brought to ASCII first:

- NFKC folds compatibility forms: full-width, mathematical and circled digits, superscripts,
  no-break and other fixed-width spaces.
- Every character with a Unicode decimal value (Arabic-Indic, Devanagari, Thai, … digits)
  becomes its ASCII digit; Python's ``int()`` and ``re``'s ``\\d`` accept those too.
- Before NFKC, every character with a digit value (``⑷``, ``❹``, ``⓸``, superscripts)
  or a whole numeric value 0 to 9 (CJK numerals ``〇一二三…九``, ``零``) becomes its
  ASCII digit: NFKC would make ``⑷`` "(4)" and leaves ``❹`` and CJK numerals alone.
- Format characters (category Cf: zero-width space and joiners, soft hyphen, BOM, bidi
  marks), combining marks (Mn, Me) and the fillers that are letters or symbols but show
  nothing (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, braille blank U+2800, and the
  other default-ignorable code points) are removed: they are invisible or sit on the
  character before them, so they cannot separate two digits for a reader.
- Every whitespace becomes a space and every dash (Pd, and the minus sign) a hyphen, so
  the separators of a card number written in groups are few and ASCII.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

_REMOVED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
# Default-ignorable or blank code points that are neither Cf nor Mn (Unicode's
# DerivedCoreProperties, Default_Ignorable_Code_Point, and the braille blank).
_FILLERS = frozenset(
    {0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0, 0x034F, 0x180B, 0x180C}
    | {0x180D, 0x180E, 0x180F}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0000, 0xE1000))
)
_CACHE_LIMIT = 65_536


def _digit_value(char: str) -> int | None:
    """0 to 9 for a character a reader takes for one digit, else None."""
    value = unicodedata.digit(char, None)
    if value is not None:
        return value
    number = unicodedata.numeric(char, None)
    if number is not None and number in _WHOLE and unicodedata.category(char) in ("Lo", "Nl"):
        return int(number)  # CJK numerals: letters with a numeric value
    return None


_WHOLE = frozenset(float(n) for n in range(10))


def _pre_fold(char: str) -> str | None:
    """Before NFKC: digit forms to ASCII, fillers dropped, everything else kept."""
    if ord(char) in _FILLERS:
        return None
    digit = _digit_value(char)
    return chr(48 + digit) if digit is not None else char


def _fold(char: str) -> str | None:
    """The ASCII stand-in for one non-ASCII character, None to drop it, or itself."""
    if ord(char) in _FILLERS:
        return None
    digit = _digit_value(char)
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

    def __init__(self, fold: Callable[[str], str | None]) -> None:
        super().__init__()
        self.fold = fold

    def __missing__(self, code: int) -> str | None:
        folded = self.fold(chr(code))
        if len(self) < _CACHE_LIMIT:  # bounded: a body cannot grow the table without end
            self[code] = folded
        return folded


_PRE = _FoldTable(_pre_fold)
_TABLE = _FoldTable(_fold)


def normalise(text: str) -> str:
    """`text` with every digit in ASCII and no invisible character left between digits."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text.translate(_PRE)).translate(_TABLE)
