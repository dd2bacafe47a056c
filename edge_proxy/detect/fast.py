"""The fast path: proves, without parsing, that the exact path would find nothing.

`quick_clean(data)` is True only when no reading of `data` that the exact path makes
(`body`, `reading`, `json_body`) can hold a card number; when it cannot prove that, it
says False and the exact path judges. It works on the raw bytes, in C, never character
by character in Python:

1. The bytes are ASCII, with no NUL (``json.loads`` would read UTF-16), no ``%`` (no
   percent layer), no escape that makes a digit or separator (JSON's ``\\u``,
   ``\\n``, ``\\/``…, and ``\\x``, ``&#``), and no run of three quoted-printable
   escapes (``=4E=44=49``). Then every atom the exact path reads (a JSON string or key,
   a form body) is a stretch of these bytes bounded by characters that end digit runs
   and tokens, no unescaping changes it, and normalising ASCII changes nothing.
2. With every separator (every byte neither letter nor digit) deleted, no 13 digits are
   left in a row: no run the exact path could find, in any atom, has 13 digits; nor has
   a JSON number's integer part, once exponents are ruled out (`plain_json`).
3. No 26 hex digits in a row: no hex token; no 21 base32 characters (capitals and 2 to 7) in
   a row: no base32 token.
4. Every base64 token, of either kind (`tokens`), wherever it starts, decodes to bytes
   with no 13 digit-capable bytes in a row, separators deleted (a digit, a hex letter or
   ``%``, a percent escape), no 18 base64 characters in a row (base64 of base64) and no
   gzip header. Decoding the text's base64 characters as one stream (whitespace and
   every other byte dropped, so base64 broken by whitespace is covered too) at each of
   the four alignments covers every token (`_decoded_clean`).

A JSON body is cleared only if `plain_json` holds too: it is one document that
``json.loads`` accepts, with no number in exponent form (the exact path judges ``42e14``
by its value, 16 digits long).

Step 1 is a few ``bytes`` methods. Steps 2 to 4 and `plain_json` are two byte loops and a
strict JSON validator in C (`_scan.c`) when the extension is built, as `make install`
does; the Python below (`_runs_clean`, `_plain_json`: translations, ``a2b_base64``,
``json.loads``) is the reference they are tested against (test_scan.py) and the fallback
when it is not built. `runs_clean` answers exactly as its reference; the validator says
True only where its reference does, and refuses more (NaN, nesting past 64 levels): a
refusal only sends the body to the exact path.

Property tests (tests/edge_proxy/detect/test_fast.py) check that the fast path never
clears what the exact path would refuse.
"""

from __future__ import annotations

import binascii
import json
import re
import string
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from edge_proxy.detect.candidates import MIN_DIGITS
from edge_proxy.detect.tokens import MIN_BASE32, MIN_HEX, MIN_TOKEN

# What joins digit groups in the exact path's reading of ASCII: every byte that is
# neither a letter nor a digit (the regex [\W_]).
_SEPARATORS = bytes(b for b in range(128) if not chr(b).isalnum())
_RUN = b"0" * MIN_DIGITS
_ESCAPES = (
    b"\\u", b"\\U", b"\\x", b"\\X", b"\\b", b"\\f", b"\\n", b"\\r", b"\\t", b"\\/"
)  # fmt: skip
# Written out, not as a repeated group: a pattern that starts with a literal is searched
# for that byte first, 50 times faster on a form full of "=".
_QUOTED_PRINTABLE = re.compile(rb"=[0-9A-F]{2}=[0-9A-F]{2}=[0-9A-F]{2}")
_BASE32 = re.compile(rb"[A-Z2-7]{%d}" % MIN_BASE32)
_TOKEN = re.compile(rb"[A-Za-z0-9+/_-]{%d}" % MIN_TOKEN)
_GZIP = b"\x1f\x8b\x08"
_PERCENT = re.compile(rb"%[0-9A-Fa-f]{2}")


def _table(capable: bytes) -> bytes:
    """A translation table: `capable` bytes to "0", every other byte to "x"."""
    return bytes(0x30 if b in capable else 0x78 for b in range(256))


_DIGITS = _table(string.digits.encode("ascii"))
_HEX = _table(string.hexdigits.encode("ascii"))
# Base64, either alphabet, as one stream: other characters become "A" (zero bits).
_AS_BASE64 = bytes(
    0x2B
    if b == 0x2D  # "-" of base64url is "+"
    else 0x2F
    if b == 0x5F  # "_" is "/"
    else b
    if b < 0x80 and (chr(b).isalnum() or b in b"+/")
    else 0x41
    for b in range(256)
)
# Everything that is not a base64 character, dropped from the stream.
_NOT_BASE64 = bytes(b for b in range(256) if _AS_BASE64[b] == 0x41 and b != 0x41)
# In decoded bytes read as Latin-1: a digit, or what a percent escape is made of, is
# capable of showing a digit; separators (str.isspace() in Latin-1 too, and "+") join.
_DECODED = _table(string.hexdigits.encode("ascii") + b"%")
_DECODED_JOINERS = bytes(b for b in range(256) if not chr(b).isalnum() and b != 0x25)


def _decoded_clean(data: bytes) -> bool:
    """Every base64 token of `data`, of either kind, from wherever it starts, decodes to
    bytes that cannot show 13 digits in a row. The text's base64 characters, all others
    dropped, are decoded as one stream at each of the four alignments: a token starting
    at position p of the stream is decoded whole in the one at p mod 4 (its last partial
    quad is completed by what follows it, which changes none of its own bytes), followed
    by other bytes, which can only add to a run."""
    # Zero bits after the end complete the last quad, as "=" padding completes a token.
    stream = data.translate(_AS_BASE64, _NOT_BASE64) + b"AAAA"
    for offset in range(4):
        decoded = binascii.a2b_base64(stream[offset : offset + (len(stream) - offset) // 4 * 4])
        if _RUN in decoded.translate(_DECODED, _DECODED_JOINERS):
            return False
        if _GZIP in decoded or _TOKEN.search(decoded):
            return False
    return True


def _runs_clean(data: bytes) -> bool:
    """Steps 2 to 4 (see above), in Python: the reference for `_scan.runs_clean`."""
    if _RUN in data.translate(_DIGITS, _SEPARATORS):
        return False
    if len(data) >= MIN_HEX and b"0" * MIN_HEX in data.translate(_HEX):
        return False
    if _BASE32.search(data):
        return False
    return len(data) < MIN_TOKEN or _decoded_clean(data)


class _Exponent(Exception):
    pass


def _float(literal: str) -> float:
    if "e" in literal or "E" in literal:
        raise _Exponent  # judged by value: 42e14 is 16 digits long
    return 0.0


def _plain_json(body: bytes) -> bool:
    """True when `body` (ASCII) is one JSON document without a number in exponent form:
    the reference for `_scan.plain_json`, which may only say True where this does."""
    try:
        json.loads(body.decode("ascii"), parse_float=_float)  # ASCII: quick_clean's first test
    except (ValueError, RecursionError, _Exponent):
        return False
    return True


runs_clean: Callable[[bytes], bool] = _runs_clean
plain_json: Callable[[bytes], bool] = _plain_json
# The C loops pay on production-like bodies: `bench/edge.py --rounds 3 --seconds 2
# --edge-workers 1` with `--scanner c` and `--scanner python` (2 cores, loaded), edge CPU
# per request: a 1 KB JSON charge 203-258 us with C, 456-516 us without; 64 KB of JSON
# 1,565-1,825 us with C, 8,684-12,500 us without (docs/edge.md, "Benchmarks").
try:
    from edge_proxy.detect import _scan
except ImportError:  # not built (a source tree without `make install`): slower, as safe
    BUILT = False
else:
    runs_clean, plain_json = _scan.runs_clean, _scan.plain_json
    BUILT = True


def quick_clean(data: bytes) -> bool:
    """True when the exact path is sure to find no card number in `data` (see above)."""
    if b"%" in data:
        return False
    # ASCII reads as itself: under 13 bytes, too short to hold a card number or a token.
    return _quick_clean_escaped(data)


def _quick_clean_escaped(data: bytes) -> bool:
    """`quick_clean`'s tests but the one for ``%``: for text whose percent escapes are
    read (decoded) by the caller."""
    if not data.isascii() or b"\x00" in data:
        return False
    if b"\\" in data and any(escape in data for escape in _ESCAPES):
        return False
    if b"&#" in data or (b"=" in data and _QUOTED_PRINTABLE.search(data)):
        return False
    return len(data) < MIN_DIGITS or runs_clean(data)


def percent_decoded(data: bytes) -> bytes | None:
    """`data` with its percent escapes decoded, when every ``%`` starts one (``%`` and two
    hex digits) and each decodes to an ASCII byte other than ``%``: one layer, after which
    the text holds no escape; else None."""
    if data.count(b"%") != len(_PERCENT.findall(data)):
        return None  # a stray "%": the API refuses the form; the exact path says so
    decoded = unquote_to_bytes(data)
    if not decoded.isascii() or b"%" in decoded:
        return None  # UTF-8 text or a second layer: for the exact path
    return decoded


def quick_clean_form(data: bytes) -> bool:
    """`quick_clean` for a form body, query string or path, percent-encoded (Stripe's
    bracket keys: ``card%5Bnumber%5D``, ``expand%5B%5D``): True when no reading of it
    can hold a card number.

    Without ``%``, the text is read as sent and with "+" as a space (the API reads form
    values so: base64 broken by those spaces is read joined). With escapes that decode
    to ASCII (`percent_decoded`), the readings are four texts, each checked whole as
    `quick_clean` checks one: the bytes as sent (their escapes' digits and letters
    counted, as the exact path reads that layer too); decoded with "+" kept (a path, a
    token); decoded with the "+" sent read as a space, which is what the API reads, key
    and value alike, since no escape decodes across an ``&`` or ``=``; and decoded with
    every "+" a space (a decoded ``%2B`` read as a space again by a reader that decodes
    twice). Each key and value the API reads is a stretch of the third, bounded by
    separators; no layer is left after them."""
    if b"%" not in data:
        return quick_clean(data) and (b"+" not in data or runs_clean(data.replace(b"+", b" ")))
    decoded = percent_decoded(data)
    if decoded is None or not _quick_clean_escaped(data) or not quick_clean(decoded):
        return False
    if b"+" not in decoded:
        return True  # the other two readings are this one
    read = percent_decoded(data.replace(b"+", b" "))
    return read is not None and quick_clean(read) and quick_clean(decoded.replace(b"+", b" "))
