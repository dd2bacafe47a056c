"""The fast path never clears what the exact path would refuse.

Inputs are built to sit near the boundary: digit runs with separators, card numbers in
every disguise the exact path reads (percent layers, JSON escapes, base64, hex, other
scripts, invisible characters, exponents), ids, timestamps, and noise. For each, when
the fast path says clean, the exact path must find nothing in any reading.
"""

from __future__ import annotations

import base64
import json

from hypothesis import example, given
from hypothesis import strategies as st

from edge_proxy.detect import PanDetector, Uninspectable
from edge_proxy.detect.app_body import BodyRefused
from edge_proxy.detect.fast import quick_clean
from edge_proxy.detect.reading import find_in_bytes
from tests.edge_proxy.cards import disguised, grouped, luhn_breaks, pans, percent_encoded

FAST = PanDetector()
EXACT = PanDetector(fast=False)
TYPES = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
    "text/plain; charset=latin-1",
]


@st.composite
def pieces(draw: st.DrawFn) -> str:
    """One fragment: plain, a card number in some disguise, or something near one."""
    pan = draw(pans())
    kind = draw(st.integers(0, 13))
    if kind == 0:
        return draw(disguised(pan))
    if kind == 1:
        return percent_encoded(draw(disguised(pan)), draw(st.integers(1, 2)))
    if kind == 2:
        raw = draw(st.one_of(disguised(pan), grouped(pan))).encode()
        encoder = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))
        prefix = draw(st.sampled_from(["", "card_", "/v1/x/", "Basic "]))
        return prefix + encoder(raw).decode().rstrip("=" if draw(st.booleans()) else "")
    if kind == 3:
        return draw(st.one_of(disguised(pan), grouped(pan))).encode().hex()
    if kind == 4:
        return "".join(f"\\u{ord(c):04x}" for c in pan)  # JSON escapes, written raw
    if kind == 5:
        return f"{pan[0]}.{pan[1:]}e{len(pan) - 1}"
    if kind == 6:
        return luhn_breaks(pan)
    if kind == 7:
        return draw(st.sampled_from(["1700000000000", "2024-01-15T10:30:00Z", "4242", "+"]))
    if kind == 8:
        return draw(st.text("0123456789 -./_+%\\uen\x1c\x85\xa0", max_size=40))
    if kind == 9:
        return draw(
            st.text(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=",
                min_size=10,
                max_size=60,
            )
        )
    if kind == 10:
        return base64.b64encode(draw(st.binary(min_size=10, max_size=40))).decode()
    if kind == 11:
        return draw(st.text(max_size=20))
    if kind == 12:
        encoded = base64.b64encode(draw(grouped(pan)).encode()).decode()
        kind_of = draw(st.integers(0, 4))
        if kind_of == 0:  # broken by whitespace or "+"
            sep = draw(st.sampled_from([" ", "\n", "+", "\r\n"]))
            return sep.join(encoded[i : i + 4] for i in range(0, len(encoded), 4))
        if kind_of == 1:
            return base64.b64encode(encoded.encode()).decode()  # base64 of base64
        if kind_of == 2:
            return base64.b32encode(pan.encode()).decode()
        if kind_of == 3:
            return "".join(
                f"&#{ord(c)};" if draw(st.booleans()) else f"&#x{ord(c):x};" for c in pan
            )
        return "".join(f"=3{c}" for c in pan)  # quoted-printable
    return draw(
        st.sampled_from(
            [" ", "  ", "\n", '"', ",", ":", "=", "&", "%2B", "\\n", "\\/", "\\x3", "·"]
        )
    )


texts = st.lists(pieces(), max_size=6).map("".join)


def exact_finds(data: bytes) -> bool:
    return any(find_in_bytes(data, plus_is_space=p) is not None for p in (True, False))


@given(texts)
@example("NDI0MjQyNDI0MjQyNDI0MjQy")
@example("MjAwMDAwMDAwMDAwOA")  # a token whose last quad is partial
@example("4242\x1c4242\x1d4242\x1f4242")
@example("4242\\u00204242\\u00204242\\u00204242")
@example(base64.b64encode("⑩⑪⑫⑬⑭⑮⑯⑰".encode()).decode())
@example(base64.b64encode(b"4242%204242%204242%204242").decode())
def test_a_text_the_fast_path_clears_holds_nothing_in_any_reading(text):
    data = text.encode("utf-8")
    if quick_clean(data):
        assert not exact_finds(data)


@given(st.lists(texts, max_size=4), st.sampled_from(TYPES))
def test_a_body_the_fast_path_clears_the_exact_path_clears_too(values, content_type):
    for body in (
        json.dumps({f"k{i}": v for i, v in enumerate(values)}).encode(),
        json.dumps(values, ensure_ascii=False).encode(),
        "&".join(f"k{i}={v}" for i, v in enumerate(values)).encode(),
        "".join(values).encode(),
    ):
        try:
            cleared = FAST.body(body, content_type) is None
        except Uninspectable:
            cleared = False  # refused: nothing passes
        if cleared:
            assert EXACT.body(body, content_type) is None, body


@given(st.lists(st.tuples(texts, texts), max_size=5))
def test_headers_the_fast_path_clears_hold_nothing(headers):
    raw = [(n.encode(), v.encode()) for n, v in headers]
    if FAST.headers(raw) is None:
        assert EXACT.headers(raw) is None


@given(pans())
def test_every_disguise_is_found_by_both(pan):
    for text in (pan, base64.b64encode(pan.encode()).decode(), pan.encode().hex()):
        for detector in (FAST, EXACT):
            assert detector.body(json.dumps({"memo": text}).encode(), "application/json")


APP_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "Application/JSON; charset=UTF-8",
]


@given(st.lists(texts, max_size=4), st.sampled_from(APP_TYPES))
def test_an_app_body_the_fast_path_clears_the_exact_path_clears_too(values, content_type):
    for body in (
        json.dumps({f"k{i}": v for i, v in enumerate(values)}).encode(),
        json.dumps({f"card{i}": v for i, v in enumerate(values)}, ensure_ascii=False).encode(),
        "&".join(f"k{i}={v}" for i, v in enumerate(values)).encode(),
        "&".join(f"pan{i}={v}" for i, v in enumerate(values)).encode(),
    ):
        try:
            cleared = FAST.app_body(body, content_type) is None
        except (Uninspectable, BodyRefused):
            cleared = False  # refused: nothing passes
        if cleared:
            assert EXACT.app_body(body, content_type) is None, body
