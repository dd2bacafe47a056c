"""The edge reads each body exactly as the API behind it will (issue 15).

A differential property over bodies, Content-Types (parameters, case, whitespace),
charsets and BOMs, and Content-Encodings: the edge's router chain (`DecodeContent`, then
`PanInBody`: `detect/app_body.py`) and the API's reading (`servicekit/body.py`
`read_body`, given the headers and bytes the edge forwards) either both refuse, or both
accept and read the same keys and values. The one latitude, on the safe side: the API
may refuse a body the edge read the same way (a form's bracket structure, a number out of
range), because then nothing is stored; the edge never refuses what the API would read,
except past its own decoding limit, and never reads otherwise what both accept.
"""

from __future__ import annotations

import codecs
import gzip
import json
import math
import zlib
from collections import Counter
from typing import Any
from urllib.parse import quote

import brotli  # type: ignore[import-untyped]
from hypothesis import example, given
from hypothesis import strategies as st

from edge_proxy.detect import PanDetector
from edge_proxy.detect.app_body import app_body_atoms
from edge_proxy.errors import EdgeError, PanDetected
from edge_proxy.filters import run_hook
from edge_proxy.filters.encoding import DecodeContent
from edge_proxy.filters.pan import PanInBody
from edge_proxy.headers import upstream_headers
from servicekit.body import BodyRefused, read_body
from tests.edge_proxy.cards import tflow

MAX_INSPECT = 1 << 20
CHAIN = [DecodeContent(MAX_INSPECT), PanInBody(PanDetector())]

# -- what is sent ---------------------------------------------------------------------------

# Whitespace str.strip and regular expressions may read differently; llhttp passes
# obs-text (0x80-0xFF) in header values.
SPACE = st.sampled_from(["", " ", "  ", "\t", " \t", "\xa0", "\x85", "\x0b"])
MEDIA = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/octet-stream",
        "application/merge-patch+json",
        "multipart/form-data",
        "application/json, text/plain",
        "",
    ]
)
CHARSET_NAMES = st.sampled_from(["charset", "CHARSET", "Charset", "boundary", "q", ""])
CHARSET_VALUES = st.sampled_from(
    [
        "utf-8",
        "UTF-8",
        '"utf-8"',
        '"UTF-8"',
        "utf8",
        "utf_8",
        " utf-8",
        '" utf-8"',
        '"utf-8',
        "utf-16",
        "shift_jis_2004",
        "hz",
        "latin-1",
        "",
    ]
)


def _case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def content_types(draw: st.DrawFn) -> str | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    value = draw(SPACE) + _case(draw, draw(MEDIA)) + draw(SPACE)
    for _ in range(draw(st.integers(0, 2))):
        name, value_ = draw(CHARSET_NAMES), draw(CHARSET_VALUES)
        equals = draw(st.sampled_from(["=", " = ", "=", ""]))
        value += ";" + draw(SPACE) + name + equals + value_ + draw(SPACE)
    return value


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
# Spellings that one reader might take and another not: escapes of digits and of the
# slash, a BOM, a lone surrogate, a duplicate key, NaN and a number out of range, JSON
# that is not an object, deep nesting, trailing bytes.
JSON_TWISTS = [
    ("", ""),
    ('{"a": "\\u0034\\u0032", ', ""),
    ('{"a": "\\/\\u00a0", ', ""),
    ('{"a": "\\ud800", ', ""),
    ('{"k": 1, "k": 2, ', ""),
    ('{"n": NaN, ', ""),
    ('{"n": 1e999, ', ""),
    ('{"n": -0, "m": 1E+2, ', ""),
    ('{"d": ' + "[" * 70 + "1" + "]" * 70 + ", ", ""),
    ("[", "]"),
    ("", " x"),
    ("\ufeff", ""),
]


@st.composite
def json_bodies(draw: st.DrawFn) -> str:
    document = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4))
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    head, tail = draw(st.sampled_from(JSON_TWISTS))
    if head.startswith("{") and text != "{}":
        text = head + text[1:]
    elif head.startswith("{"):
        text = head.rstrip(", ") + "}"
    else:
        text = head + text
    return text + tail


@st.composite
def form_bodies(draw: st.DrawFn) -> str:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["amount", "metadata[a]", "a[]", "a[0]", "d[e][f]", "x", ""])
                | st.text(max_size=6),
                st.text(max_size=10),
            ),
            max_size=4,
        )
    )
    safe = draw(st.sampled_from(["", " ", "[]", "%"]))
    text = "&".join(f"{quote(k, safe=safe)}={quote(v, safe=safe)}" for k, v in pairs)
    return text + draw(st.sampled_from(["", "&", "%", "%zz", "%ff", "+", ";a=1", "&&b"]))


CHARSETS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "shift_jis", "latin-1"]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "form", "bytes", "empty"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "empty":
        return b""
    text = draw(json_bodies() if kind == "json" else form_bodies())
    charset = draw(st.sampled_from(CHARSETS))
    return text.encode(charset, errors="backslashreplace")


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


# A coding's name as sent, and how the body is coded for it ("deflate" sent raw too).
CODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw deflate": _raw_deflate,
    "br": brotli.compress,
    "identity": lambda data: data,
}


@st.composite
def encoded(draw: st.DrawFn) -> tuple[list[str], bytes]:
    """Content-Encoding header values and the body coded by them (or not)."""
    body = draw(bodies())
    names = draw(st.lists(st.sampled_from([*CODERS, "compress", "zstd"]), max_size=3))
    for name in names:
        body = CODERS.get(name, lambda data: data)(body)
    if draw(st.integers(0, 7)) == 0:
        body = body[: len(body) // 2]  # cut short
    spelled = [
        _case(draw, "deflate" if name == "raw deflate" else name) + draw(SPACE) for name in names
    ]
    if len(spelled) > 1 and draw(st.booleans()):
        return spelled, body  # one header each
    joined = draw(st.sampled_from([", ", ",", " , "])).join(spelled)
    return ([joined] if spelled else []), body


# -- the two readings -----------------------------------------------------------------------


def edge_reading(
    content_type: str | None, codings: list[str], body: bytes
) -> tuple[list[tuple[bytes, bytes]], bytes] | None:
    """What the edge forwards (headers and body), or None when it refuses."""
    headers: list[tuple[str, str | bytes]] = [
        ("content-encoding", c.encode("latin-1")) for c in codings
    ]
    if content_type is not None:
        headers.append(("content-type", content_type.encode("latin-1")))
    flow = tflow(headers=headers, body=body)
    try:
        run_hook(CHAIN, "requestheaders", flow)
        run_hook(CHAIN, "request", flow)
    except PanDetected:
        pass  # read and found a card number: the reading is what is compared
    except EdgeError:
        return None
    return upstream_headers(flow.request, "req_test"), flow.request.inspected


def first(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """A header as Starlette's `request.headers.get` gives it to the API."""
    return next((v.decode("latin-1") for k, v in headers if k == name), None)


def api_strings(value: Any, form: bool) -> tuple[Counter[str], list[Any]]:
    """Every key and string value the API read (a form's key segments are compared
    apart), and its numbers."""
    strings: Counter[str] = Counter()
    numbers: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not form:
                strings.update(list(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            strings[item] += 1
        elif isinstance(item, int | float) and not isinstance(item, bool):
            numbers.append(item)
    return strings, numbers


def same_reading(content_type: str | None, body: bytes, read: dict[str, Any]) -> None:
    """The edge's atoms are the keys, strings and numbers the API read."""
    atoms = app_body_atoms(body, content_type)
    form = bool(body) and content_type is not None and "json" not in content_type.lower()
    strings, numbers = api_strings(read, form)
    if form:
        values = Counter(a.text for a in atoms if a.field is not None)
        keys = [a.text for a in atoms if a.field is None]
        assert values == strings
        assert all(any(f"[{s}]" in k or k.startswith(s) for k in keys) for s in read)
        return
    assert Counter(a.text for a in atoms if not a.number) == strings
    written = sorted(json.loads(a.text) for a in atoms if a.number)
    assert len(written) == len(numbers)
    assert all(math.isclose(a, b) for a, b in zip(written, sorted(numbers), strict=True))


@given(content_type=content_types(), sent=encoded())
@example(content_type="application/json; charset=utf-8; charset=utf-8", sent=([], b'{"a":"1"}'))
@example(content_type="application/json", sent=([], '\ufeff{"a": 1}'.encode()))
@example(content_type="application/json; charset=shift_jis_2004", sent=([], b'{"a": "\\u0034"}'))
@example(content_type="text/plain", sent=([], b'{"a": "\\u0034"}'))
@example(content_type="application/json", sent=(["Deflate "], _raw_deflate(b'{"a": "x"}')))
@example(content_type="application/json", sent=([], b'{"d": ' + b"[" * 70 + b"]" * 70 + b"}"))
@example(content_type="application/json", sent=([], b'{"d": ' + b"[" * 64 + b"]" * 64 + b"}"))
@example(content_type="application/json", sent=([], b'{"n": 1e999, "m": -0}'))
@example(content_type="application/json", sent=([], b'{"n": ' + b"1" * 5000 + b"}"))
@example(content_type="application/json", sent=([], b'{"a": "\\ud800"}'))
@example(content_type="application/json", sent=([], b'{"a": {"b": 1, "b": 2}}'))
@example(content_type="application/x-www-form-urlencoded", sent=([], b"a[b]=1&a[0]=2&a=3"))
@example(content_type="application/x-www-form-urlencoded", sent=([], b"a=1&a=2"))
@example(content_type="application/x-www-form-urlencoded", sent=([], b"a=%ff"))
@example(content_type="application/x-www-form-urlencoded", sent=([], b"a=%2"))
@example(content_type=' Application/JSON ; Charset = "UTF-8" ', sent=([], b"{}"))
@example(content_type="application/json;", sent=([], b"{}"))
@example(content_type="application/json; charset=utf-8;", sent=([], b"{}"))
@example(content_type="application/json;charset=utf-8,text/plain", sent=([], b"{}"))
@example(content_type="application/json; charset=\xa0utf-8\x85", sent=([], b"{}"))
@example(content_type="application/json", sent=(["identity", "identity"], b"{}"))
@example(content_type="application/json", sent=(["gzip", "identity"], gzip.compress(b"{}")))
def test_the_edge_and_the_api_read_every_body_alike(content_type, sent):
    codings, body = sent
    forwarded = edge_reading(content_type, codings, body)
    direct = _api(content_type, codings, body)
    if forwarded is None:
        # The edge refused: the API refuses the same bytes, sent to it as they are.
        # (Decoded first, where the edge refused something else than the coding.)
        assert direct is None, (content_type, codings, body)
        return
    headers, inspected = forwarded
    forwarded_type = first(headers, b"content-type")
    assert first(headers, b"content-encoding") is None  # the edge forwards what it decoded
    read = _api(forwarded_type, [], inspected)
    if read is None:
        return  # the API refuses what the edge passed: nothing is stored
    same_reading(forwarded_type, inspected, read)


def _api(content_type: str | None, codings: list[str], body: bytes) -> dict[str, Any] | None:
    """The API's reading, None when it refuses; coded bodies decoded as the edge would
    (the API itself refuses any coding: `test_the_api_reads_no_coding`)."""
    if codings:
        try:
            body = _decoded(codings, body)
        except Exception:
            return None
    try:
        return read_body(content_type, None, body)
    except BodyRefused:
        return None


def _decoded(codings: list[str], body: bytes) -> bytes:
    applied = [c.strip().lower() for v in codings for c in v.split(",") if c.strip()]
    for name in reversed(applied):
        if name in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif name == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif name == "br":
            body = brotli.decompress(body)
        elif name != "identity":
            raise ValueError(name)
    return body


def test_the_api_reads_no_coding():
    for coding in ("gzip", "deflate", "br", "identity, identity", "x-gzip"):
        try:
            read_body("application/json", coding, b"{}")
        except BodyRefused as error:
            assert error.status_code == 415
        else:
            raise AssertionError(coding)
    assert read_body("application/json", " Identity ", b"{}") == {}


def test_charset_names_the_codec_registry_knows_are_not_utf8_aliases_for_either():
    # "utf8" and "utf_8" name UTF-8 to Python's codecs; the contract takes only "utf-8".
    assert codecs.lookup("utf8").name == "utf-8"
    assert _api("application/json; charset=utf8", [], b"{}") is None
    assert edge_reading("application/json; charset=utf8", [], b"{}") is None
