"""Which digit strings in normalised text are card numbers: runs, windows and the PAN rule.

A *run* is a maximal stretch of ASCII digits in which neighbouring digits touch or are
parted by exactly one separator: whitespace, ``-``, ``.``, ``/`` or ``_``. The separators
cut the run into *groups*. Two separators in a row (``", "``, ``" - "``) end a run.

Rule for runs longer than 19 digits — candidates are *windows of whole groups*:

- Every window of consecutive whole groups whose significant digits (leading zeros
  dropped: they change neither the number nor its Luhn sum) number 13 to 19 is checked.
  A card number written whole or in groups begins and ends at a separator or at the end
  of its run, so ``4242 4242 4242 4242 12/34 123`` (card, expiry and CVC: one 23-digit
  run) is found through its first four groups, and ``order 12 4000000000000002`` through
  its last.
- A group that alone has more than 19 significant digits is one number too long to be a
  card number (a 20+ digit id, a big integer, a hash written in decimal), and no slice of
  it is checked: every 13–19 digit slice of a long number is Luhn-valid one time in ten,
  so checking slices would refuse almost every long id. A card number glued to other
  digits with no separator is therefore not found; that is the price of letting ids pass.
- In text, a decimal number is digits parted by one dot: ``564635529791.9844`` is read as
  a grouped 16-digit number and refused if it passes the rule below. JSON numbers are
  judged by value instead (see `json_body`).

Rule for groups glued to letters — they belong to an identifier: a run's first group
when an ASCII letter comes right before it, and its last group when one comes right
after it, are left out of every window. UUIDs and hex ids (``…c2b80-5488-4938-812f…``,
``…e3596637020913``) are letters and digits mixed: read as runs alone, one in about 400
of them held a Luhn-valid window. A card number glued to letters (``x4242…``) is
therefore not found, as one glued to digits is not; magnetic-stripe track 1 data
(``%B<card number>^NAME^…``), where a card number follows its format code "B" and ends
at "^", is the one exception and is found. A UUID (8-4-4-4-12 hex digits) is an
identifier whole, even when its first three groups happen to be all digits and spell a
Luhn-valid number (3 in 10,000 random UUIDs do); so is anything glued to it.

Rule for bank account numbers: an IBAN (two capital letters, two check digits, 11 to 30
capitals and digits, written whole or in groups of four parted by single spaces) whose
ISO 13616 check holds (mod 97) is an identifier whole. Written in groups, the digits of
its account part form one run: read as such, one German IBAN in four and one British
IBAN in eleven held a Luhn-valid window. A random string passes the check one time in 97.

A window is reported as a card number (`is_pan`) when its significant digits:

- number 13 to 19 and pass the Luhn check, and
- start with 1 only if they are 15 long. The only issued card numbers starting with 1 are
  UATP's, 15 digits; epoch timestamps in milliseconds, microseconds and nanoseconds have
  13, 16 and 19 digits and start with 1 (until the year 2286), and one in ten would
  otherwise be refused. Timestamps in milliseconds start with 2 from May 2033: revisit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from edge_proxy.detect.budget import check
from edge_proxy.detect.luhn import luhn_valid

MIN_DIGITS = 13
MAX_DIGITS = 19

_SEP = r"\s\-./_"
_RUN = re.compile(rf"[0-9]+(?:[{_SEP}][0-9]+)*")
_SEPARATOR = re.compile(rf"[{_SEP}]")
# Where a run of at least MIN_DIGITS digits starts: only those reach Python code. The
# leftmost match of this pattern is always the first digit of its run (it cannot cross
# two separators in a row or any other character, and neither can a run).
_DENSE = re.compile(rf"[0-9](?:[{_SEP}]?[0-9]){{{MIN_DIGITS - 1}}}")
# The same with "+" as one more separator: a form or query reader turns "+" into a space.
_RUN_PLUS = re.compile(rf"[0-9]+(?:[{_SEP}+][0-9]+)*")
_SEPARATOR_PLUS = re.compile(rf"[{_SEP}+]")
_DENSE_PLUS = re.compile(rf"[0-9](?:[{_SEP}+]?[0-9]){{{MIN_DIGITS - 1}}}")


@dataclass(frozen=True)
class Finding:
    """A card number was seen. It keeps only the length: a finding is safe to log."""

    digits: int


def is_pan(significant: str) -> bool:
    """True when a digit string with no leading zero meets the card number rule above."""
    length = len(significant)
    if not MIN_DIGITS <= length <= MAX_DIGITS:
        return False
    if significant[0] == "1" and length != 15:
        return False
    return luhn_valid(significant)


def _windows(groups: list[str]) -> Iterator[str]:
    """Significant digits of every window of whole groups that could hold a card number."""
    for start, first in enumerate(groups):
        if not start & 0xFFF:
            check()  # a run of a million one-digit groups is a lot of windows
        window = first.lstrip("0")
        if not window:
            continue  # a window opening with zeros equals the one opening after them
        end = start
        while len(window) <= MAX_DIGITS:
            if len(window) >= MIN_DIGITS:
                yield window
            end += 1
            if end == len(groups):
                break
            window += groups[end]


_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")


_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?")


def _iban_valid(text: str) -> bool:
    """ISO 13616: the country and check digits moved to the end, letters read as 10 to
    35, the number is 1 modulo 97."""
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _letters_for(match: re.Match[str]) -> str:
    return "u" * len(match.group())


def _without_identifiers(text: str) -> str:
    """`text` with every UUID and valid IBAN spelled in letters: identifiers, whatever
    their digits."""
    if "-" in text:
        text = _UUID.sub(_letters_for, text)
    return _IBAN.sub(
        lambda match: _letters_for(match) if _iban_valid(match.group()) else match.group(),
        text,
    )


def _outside_identifiers(text: str, start: int, end: int, groups: list[str]) -> list[str]:
    """The groups of the run text[start:end] that are not glued to a letter (see above)."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before == "B" and after == "^":
        return groups  # track 1: format code, card number, field separator
    first = 1 if before in _LETTERS else 0
    last = len(groups) - 1 if after in _LETTERS else len(groups)
    return groups[first:last]


def find_pan(text: str, *, plus_separates: bool = False) -> Finding | None:
    """The first card number in normalised text, or None. `plus_separates` reads "+" as
    a separator too (a superset of the plain reading: used by the fast path)."""
    dense, run, separator = (
        (_DENSE_PLUS, _RUN_PLUS, _SEPARATOR_PLUS) if plus_separates else (_DENSE, _RUN, _SEPARATOR)
    )
    if dense.search(text) is None:
        return None  # no run long enough: no identifier to set aside either
    text = _without_identifiers(text)
    position = 0
    while True:
        start = dense.search(text, position)
        if start is None:
            return None
        match = run.match(text, start.start())
        assert match is not None
        check()
        groups = separator.split(match.group())
        for window in _windows(_outside_identifiers(text, match.start(), match.end(), groups)):
            if is_pan(window):
                return Finding(len(window))
        position = match.end()
