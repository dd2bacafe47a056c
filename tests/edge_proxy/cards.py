"""Card numbers for tests: documented test cards and Luhn-valid numbers made at test time,
and the disguises a sender might put them in."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from hypothesis import strategies as st

from edge_proxy.flow import EdgeRequest, EdgeResponse, Flow

TEST_CARDS = [
    "4242424242424242",
    "4000000000000002",
    "4000000000009995",
    "4100000000000019",
    "4000000000004954",
    "5555555555554444",
    "378282246310005",
]

SEPARATORS = " -./_"
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
# Zero of a few digit sets with Unicode decimal values (int() and \d accept them all).
SCRIPT_ZEROS = [0x0660, 0x06F0, 0x0966, 0x09E6, 0x0BE6, 0x0E50, 0x1040, 0xFF10, 0x1D7CE]


def luhn_complete(partial: str) -> str:
    """`partial` with the check digit that makes it Luhn-valid (written apart from the
    product's own Luhn code, so a bug there cannot hide here)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        digit = int(ch)
        if i % 2 == 0:
            digit = sum(divmod(digit * 2, 10))
        total += digit
    return partial + str(-total % 10)


def luhn_breaks(number: str) -> str:
    """The same number with its check digit wrong."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@st.composite
def pans(draw: st.DrawFn) -> str:
    """A Luhn-valid card number of 13 to 19 digits that the card number rule covers:
    first digit 2–9, or 1 at 15 digits (UATP)."""
    length = draw(st.integers(13, 19))
    first = "1" if length == 15 and draw(st.booleans()) else draw(st.sampled_from("23456789"))
    middle = draw(st.text("0123456789", min_size=length - 2, max_size=length - 2))
    return luhn_complete(first + middle)


def in_script(number: str, zero: int) -> str:
    digits = "".join(chr(zero + int(d)) for d in number)
    assert all(unicodedata.decimal(c) == int(d) for c, d in zip(digits, number, strict=True))
    return digits


@st.composite
def disguised(draw: st.DrawFn, number: str) -> str:
    """`number` as a sender might write it: grouped with separators, in another script,
    with invisible characters between digits, or several of these at once."""
    text = number
    if draw(st.booleans()):
        size = draw(st.integers(1, 6))
        groups = [text[i : i + size] for i in range(0, len(text), size)]
        text = groups[0]
        for group in groups[1:]:
            text += draw(st.sampled_from(SEPARATORS)) + group
    if draw(st.booleans()):
        zero = draw(st.sampled_from(SCRIPT_ZEROS))
        text = "".join(in_script(c, zero) if c.isdigit() else c for c in text)
    if draw(st.booleans()):
        out = ""
        for char in text:
            out += char + (draw(st.sampled_from(INVISIBLES)) if draw(st.booleans()) else "")
        text = out
    return text


@st.composite
def grouped(draw: st.DrawFn, number: str) -> str:
    """`number` in ASCII, maybe grouped with separators: what base64 and hex are read for
    (a card number both encoded and in another script is a documented limit)."""
    size = draw(st.integers(1, 19))
    groups = [number[i : i + size] for i in range(0, len(number), size)]
    text = groups[0]
    for group in groups[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + group
    return text


def percent_encoded(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


def tflow(
    method: str = "POST",
    path: str = "/v1/charges",
    *,
    query: bytes = b"",
    headers: list[tuple[str, str | bytes]] | None = None,
    body: bytes = b"",
    response: EdgeResponse | None = None,
) -> Flow:
    """A flow built by hand, for testing one filter alone (after mitmproxy's tflow)."""
    raw_headers = [
        (name.encode("latin-1"), value if isinstance(value, bytes) else value.encode("utf-8"))
        for name, value in headers or []
    ]
    request = EdgeRequest(
        method=method,
        path=path,
        raw_path=path.encode("utf-8"),
        query_string=query,
        headers=raw_headers,
        body=body,
        client="203.0.113.7",
    )
    return Flow(request, "req_test", response)
