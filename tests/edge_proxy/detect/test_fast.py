"""The fast path never clears what the exact path would refuse.

Inputs are built to sit near the boundary: digit runs with separators, card numbers in
every disguise the exact path reads (percent layers, JSON escapes, base64, hex, other
scripts, invisible characters, exponents), ids, timestamps, and noise. For each, when
the fast path says clean, the exact path must find nothing in any reading.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from edge_proxy.detect import PanDetector, Uninspectable
from edge_proxy.detect.app_body import BodyRefused
from edge_proxy.detect.fast import percent_decoded, quick_clean, quick_clean_form
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
        "&".join(f"k%5B{i}%5D={quote_plus(v)}" for i, v in enumerate(values)).encode(),
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
        "&".join(f"metadata%5Bk{i}%5D={quote_plus(v)}" for i, v in enumerate(values)).encode(),
        "&".join(f"card%5B{i}%5D={quote(v, safe='')}" for i, v in enumerate(values)).encode(),
    ):
        try:
            cleared = FAST.app_body(body, content_type) is None
        except (Uninspectable, BodyRefused):
            cleared = False  # refused: nothing passes
        if cleared:
            assert EXACT.app_body(body, content_type) is None, body


# -- forms with percent escapes (Stripe's SDKs: card%5Bnumber%5D, expand%5B%5D) ----------------

FORM = "application/x-www-form-urlencoded"
# Key as the SDKs write them, and encodings of a value: each escape set a client may use.
FORM_KEYS = ["amount", "card[number]", "metadata[order_id]", "expand[]", "items[0][price]", "q"]
QUOTERS: list[Callable[[str], str]] = [
    quote_plus,
    lambda v: quote(v, safe=""),
    lambda v: quote(v, safe="+&=%"),  # a client that leaves these alone
    lambda v: "".join(f"%{b:02X}" for b in v.encode()),  # every byte escaped
    lambda v: "".join(f"%{b:02x}" for b in v.encode()),  # lower-case hex
    str,
]


@st.composite
def escaped_forms(draw: st.DrawFn) -> bytes:
    """A form body of bracket keys and values from `pieces`, each pair escaped its own way."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(FORM_KEYS), texts), max_size=4))
    parts = []
    for key, value in pairs:
        quoter = draw(st.sampled_from(QUOTERS))
        parts.append(f"{quoter(key)}={quoter(value)}")
    return draw(st.sampled_from(["&", "&&"])).join(parts).encode("utf-8")


def test_a_stripe_sdk_form_takes_the_fast_path():
    body = (
        b"amount=2599&currency=usd&source=tok_visa&description=Order+%2310452%3A+two+tickets"
        b"&receipt_email=jane.doe%40example.com&metadata%5Border_id%5D=A-10452"
        b"&metadata%5Bphone%5D=%2B1+415+555+0134&expand%5B%5D=customer&expand%5B%5D=balance"
    )
    assert FAST.scan_app_body(body, FORM).kind == "clean"
    assert FAST.scan_body(body, FORM).kind == "clean"
    assert EXACT.app_body(body, FORM) is None
    assert FAST.query(body) is None and EXACT.query(body) is None


@given(pans())
def test_a_card_in_an_escaped_form_is_never_cleared(pan):
    for body in (
        b"card%5Bnumber%5D=" + pan.encode() + b"&expand%5B%5D=customer",
        b"memo=" + "".join(f"%{ord(c):02X}" for c in pan).encode(),
        b"memo=" + quote(" ".join(pan[i : i + 4] for i in range(0, len(pan), 4))).encode(),
        b"memo=" + quote(base64.b64encode(pan.encode()).decode(), safe="").encode(),
        b"memo=" + quote(quote(pan, safe=""), safe="").encode(),  # a second layer
    ):
        assert not quick_clean_form(body), body
        assert FAST.scan_app_body(body, FORM).kind == "needs_exact"
        assert FAST.app_body(body, FORM) is not None


def test_escapes_the_fast_path_leaves_to_the_exact_path():
    assert percent_decoded(b"a%5Bb%5d=1") == b"a[b]=1"
    assert percent_decoded(b"note=100%") is None  # a stray %: the API refuses the form
    assert percent_decoded(b"note=%zz") is None
    assert percent_decoded(b"note=%2541") is None  # decodes to a second layer
    assert percent_decoded(b"name=Ren%C3%A9e") is None  # UTF-8 text: read exactly
    assert FAST.scan_app_body(b"note=100%", FORM).kind == "needs_exact"
    with pytest.raises(BodyRefused):
        FAST.app_body(b"note=100%", FORM)


@given(escaped_forms())
@example(b"k=%34%32%34%32+%34%32%34%32+%34%32%34%32+%34%32%34%32")
@example(b"k=NDI0MjQyNDI0%2BMjQyNDI0MjQy")
@example(b"k=%5C%75%30%30%33%34")
def test_an_escaped_form_the_fast_path_clears_holds_nothing_in_any_reading(body):
    if quick_clean_form(body):
        assert not exact_finds(body)
        assert EXACT.app_body(body, FORM) is None  # read by the API's rules: nothing
        assert EXACT.body(body, FORM) is None
        assert EXACT.query(body) is None
