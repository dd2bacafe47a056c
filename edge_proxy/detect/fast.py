"""The fast path: proves, without parsing, that the exact path would find nothing.

`quick_clean(data)` is True only when no reading of `data` that the exact path makes
(`body`, `reading`, `json_body`) can hold a card number; when it cannot prove that, it
says False and the exact path judges. It works on the raw bytes with a handful of
C-level passes (`bytes.translate`, `split`, `find`), not character by character:

1. The bytes are ASCII, with no NUL (``json.loads`` would read UTF-16), no ``%`` (no
   percent layer), and no JSON escape that makes a digit or separator (``\\u``,
   ``\\n``, ``\\/``…). Then every atom the exact path reads (a JSON string or key, a
   form or text body) is a stretch of these bytes bounded by characters that end digit
   runs and tokens, and normalising ASCII changes nothing.
2. With every separator (and ``+``) deleted, no 13 digits are left in a row: no run
   the exact path could find, in any atom, has 13 digits; nor has a JSON number's
   integer part (the caller rules out exponents, see `detector`).
3. No 26 hex digits in a row: no hex token.
4. Every base64 token, of either kind (`tokens`), decoded in one call, shows no 13
   digit-capable characters in a row with separators deleted, in either charset view:
   a digit-capable character is a digit, a hex letter or ``%`` (a percent escape), any
   non-ASCII character in the UTF-8 view (a digit of another script, an invisible
   joiner, or "⑩": counted as three), and the superscripts and fractions in the
   Latin-1 view (the soft hyphen and no-break space join).

Property tests (tests/edge_proxy/detect/test_fast.py) check that the fast path never
clears what the exact path would refuse.
"""

from __future__ import annotations

import binascii
import string

from edge_proxy.detect.candidates import MIN_DIGITS
from edge_proxy.detect.tokens import MIN_HEX, MIN_TOKEN

_SEPARATORS = b" \t\n\r\x0b\x0c-./_+"
_RUN = b"0" * MIN_DIGITS
_ESCAPES = (b"\\u", b"\\b", b"\\f", b"\\n", b"\\r", b"\\t", b"\\/")


def _table(capable: bytes) -> bytes:
    """A translation table: `capable` bytes to "0", every other byte to "x"."""
    return bytes(0x30 if b in capable else 0x78 for b in range(256))


_ALNUM = (string.ascii_letters + string.digits).encode("ascii")
_DIGITS = _table(string.digits.encode("ascii"))
_HEX = _table(string.hexdigits.encode("ascii"))
_WHOLE = _table(_ALNUM + b"+/_-")
_ALNUM_ONLY = _table(_ALNUM)
_TOKEN_RUN = b"0" * MIN_TOKEN
# The UTF-8 view spells each non-ASCII character as three "?": `normalise` makes at most
# three digits of one character ("⅒" is "1⁄10"; a test checks this over all of Unicode).
DIGITS_PER_CHAR = 3
_DECODED_UTF8 = _table(string.hexdigits.encode("ascii") + b"%?")
_DECODED_LATIN1 = _table(string.hexdigits.encode("ascii") + b"%\xb2\xb3\xb9\xbc\xbd\xbe")
_LATIN1_JOINERS = _SEPARATORS + b"\xa0\xad"
_PADDING = (b"", b"AAA", b"AA", b"A")  # to a whole quad: each token decodes on its own
_GAP = b"AAAA"  # three NUL bytes between two tokens' decodings: no run crosses them


_URLSAFE = bytes.maketrans(b"-_", b"+/")
_ALNUM_SPACE = _ALNUM + b" "


def _runs(data: bytes, table: bytes) -> list[bytes]:
    """The runs of at least MIN_TOKEN characters that `table` marks, found with C-level
    searches: the leftmost occurrence of MIN_TOKEN marks is always where a run starts."""
    marked = data.translate(table)
    runs = []
    start = marked.find(_TOKEN_RUN)
    while start >= 0:
        end = marked.find(b"x", start + MIN_TOKEN)
        if end < 0:
            end = len(marked)
        runs.append(data[start:end])
        start = marked.find(_TOKEN_RUN, end)
    return runs


def _base64_tokens(data: bytes) -> list[bytes]:
    """Both kinds of token; letters-and-digits runs are looked for only inside whole
    tokens that hold a "+/_-" (elsewhere they are the whole tokens themselves)."""
    found = _runs(data, _WHOLE)
    joined = b" ".join(found)
    if joined.translate(None, _ALNUM_SPACE):  # some "+/_-" inside a token
        found.extend(_runs(joined, _ALNUM_ONLY))
    return found


def _decoded_clean(tokens: list[bytes]) -> bool:
    blob = _GAP.join([t + _PADDING[len(t) & 3] for t in tokens]).translate(_URLSAFE)
    decoded = binascii.a2b_base64(blob)
    if decoded.isascii():
        return _RUN not in decoded.translate(_DECODED_UTF8, _SEPARATORS)
    utf8 = decoded.decode("utf-8", "ignore").encode("ascii", "replace")
    utf8 = utf8.replace(b"?", b"?" * DIGITS_PER_CHAR)
    if _RUN in utf8.translate(_DECODED_UTF8, _SEPARATORS):
        return False
    return _RUN not in decoded.translate(_DECODED_LATIN1, _LATIN1_JOINERS)


def quick_clean(data: bytes) -> bool:
    """True when the exact path is sure to find no card number in `data` (see above)."""
    if not data.isascii() or b"\x00" in data or b"%" in data:
        return False
    if b"\\" in data and any(escape in data for escape in _ESCAPES):
        return False
    if len(data) < MIN_DIGITS:
        return True  # ASCII reads as itself: too short to hold a card number or a token
    if _RUN in data.translate(_DIGITS, _SEPARATORS):
        return False
    if len(data) >= MIN_HEX and b"0" * MIN_HEX in data.translate(_HEX):
        return False
    if len(data) < MIN_TOKEN:
        return True
    tokens = _base64_tokens(data)
    return not tokens or _decoded_clean(tokens)
