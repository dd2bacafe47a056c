"""The fast path's verdict never says clean where the exact path finds a card number.

Bodies hold a generated Luhn-valid number (bare, grouped as printed with any separators,
or with a card word near it) inside JSON (a string, escaped or not, or a number), a
form (raw or percent-encoded, bracket keys), a multipart form or plain text, in every
charset the edge reads (declared or not) and coded with every Content-Encoding it
decodes, stacked too. For each: the detector's fast scan and the exact scan of the same
bytes, and the filter chains with the event loop's room against the chains with all the
room there is (where the proxy sends what the loop could not settle).
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import brotli  # type: ignore[import-untyped]
from hypothesis import given
from hypothesis import strategies as st

from edge_proxy.detect import PanDetector, Uninspectable
from edge_proxy.detect.app_body import BodyRefused
from edge_proxy.detect.verdict import NEEDS_EXACT, Verdict, found
from edge_proxy.errors import EdgeError, PanDetected, SensitiveDataInResponse
from edge_proxy.filters import router_chain, run_hook
from edge_proxy.filters.base import Room
from edge_proxy.flow import EdgeResponse
from edge_proxy.proxy import INLINE_SCAN_BYTES, INLINE_SCAN_SECONDS
from tests.edge_proxy.cards import embedded, grouped, pans, printed, tflow, with_context

DETECTOR = PanDetector()
CHAIN = router_chain(1 << 20, 4 << 20, DETECTOR)
# What the edge reads a response in (declared, or detected as json.loads does), and the
# only one it takes for a request (UTF-8).
CHARSETS = ["utf-8", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis", "ascii"]


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


# A coding's name and how the body is coded for it ("deflate" is also sent raw).
CODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "raw deflate": _raw_deflate,
    "br": brotli.compress,
    "identity": lambda data: data,
}
KEYS = ["note", "description", "metadata[memo]", "card", "number", "cc"]


@st.composite
def card_texts(draw: st.DrawFn) -> str:
    """A card number as a sender writes one: bare, printed, any grouping with context, or
    inside a longer run of digit groups."""
    pan = draw(pans())
    kind = draw(st.integers(0, 3))
    if kind == 3:
        return draw(embedded(pan))
    text = pan if kind == 0 else draw(printed(pan) if kind == 1 else with_context(pan))
    before = draw(st.sampled_from(["", "Order 1042 ", "ref: ", "\n"]))
    return before + text + draw(st.sampled_from(["", " thanks", ".", "\t"]))


@st.composite
def containers(draw: st.DrawFn, app: bool) -> tuple[str, str]:
    """(media type, text) of a body holding a card number; `app`: only what the API
    reads (JSON or a form)."""
    kinds = ["json", "json-number", "form"] + ([] if app else ["multipart", "text"])
    kind = draw(st.sampled_from(kinds))
    key = draw(st.sampled_from(KEYS))
    if kind == "json-number":
        number = int(draw(pans()))
        return "application/json", json.dumps({"amount": 2599, key: number})
    text = draw(card_texts())
    if kind == "json":
        doc = {"amount": 2599, "currency": "usd", key: text}
        return "application/json", json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if kind == "form":
        quoters: list[Callable[[str], str]] = [quote_plus, quote, str]
        quoted = draw(st.sampled_from(quoters))
        return (
            "application/x-www-form-urlencoded",
            f"amount=2599&currency=usd&{quoted(key)}={quoted(text)}",
        )
    if kind == "multipart":
        boundary = "b0undary"
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{text}\r\n'
        return f"multipart/form-data; boundary={boundary}", part + f"--{boundary}--\r\n"
    return "text/plain", text


@st.composite
def response_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """(Content-Type, bytes) in any charset, declared or not."""
    media, text = draw(containers(app=False))
    charset = draw(st.sampled_from(CHARSETS))
    body = text.encode(charset, errors="replace")
    if charset == "utf-8" and draw(st.booleans()):
        return media, body  # undeclared: UTF-8, or detected as json.loads does
    return f"{media}; charset={charset}", body


@st.composite
def app_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    media, text = draw(containers(app=True))
    declared = draw(st.sampled_from(["", "; charset=utf-8", "; charset=UTF-8"]))
    return media + declared, text.encode("utf-8")


@st.composite
def codings(draw: st.DrawFn) -> list[str]:
    return draw(st.lists(st.sampled_from(list(CODERS)), max_size=3))


def coded(body: bytes, names: list[str]) -> bytes:
    for name in names:
        body = CODERS[name](body)
    return body


def exact(scan: Callable[[], Verdict]) -> Verdict | None:
    """The exact scan's verdict, or None for a body it refuses (cannot read)."""
    try:
        return scan()
    except (Uninspectable, BodyRefused):
        return None


def inline_room() -> Room:
    return Room(INLINE_SCAN_BYTES, time.thread_time() + INLINE_SCAN_SECONDS)


@given(response_bodies())
def test_a_body_the_exact_path_finds_a_card_in_is_never_cleared_by_the_fast_path(sent):
    content_type, body = sent
    verdict = exact(lambda: DETECTOR.exact_body(body, content_type))
    if verdict is not None and verdict.finding is not None:
        assert verdict == found(verdict.finding)
        assert DETECTOR.scan_body(body, content_type) is NEEDS_EXACT, body


@given(app_bodies())
def test_an_app_body_the_exact_path_finds_a_card_in_is_never_cleared_by_the_fast_path(sent):
    content_type, body = sent
    verdict = exact(lambda: DETECTOR.exact_app_body(body, content_type))
    assert verdict is not None and verdict.kind == "found", body  # the API reads it: found
    assert DETECTOR.scan_app_body(body, content_type) is NEEDS_EXACT, body


def request_outcome(content_type: str, names: list[str], body: bytes, room: Room | None) -> str:
    headers: list[tuple[str, str | bytes]] = [("content-type", content_type)]
    headers += [("content-encoding", name.removeprefix("raw ")) for name in names]
    flow = tflow(headers=headers, body=body)
    try:
        run_hook(CHAIN, "requestheaders", flow)
        verdict = (
            run_hook(CHAIN, "request", flow)
            if room is None
            else (run_hook(CHAIN, "request", flow, room))
        )
    except PanDetected:
        return "found"
    except EdgeError:
        return "refused"
    return verdict.kind


@given(app_bodies(), codings())
def test_the_request_chain_never_passes_on_the_loop_a_card_it_finds_with_room(sent, names):
    content_type, body = sent
    body = coded(body, names)
    assert request_outcome(content_type, names, body, None) == "found", body
    # On the event loop: found, or left to a scanning process; never passed.
    assert request_outcome(content_type, names, body, inline_room()) in ("found", "needs_exact")


def response_outcome(content_type: str, names: list[str], body: bytes, room: Room | None) -> str:
    headers = [(b"content-type", content_type.encode("latin-1"))]
    headers += [(b"content-encoding", name.removeprefix("raw ").encode()) for name in names]
    flow = tflow(response=EdgeResponse(200, headers, body))
    try:
        verdict = (
            run_hook(CHAIN, "response", flow)
            if room is None
            else (run_hook(CHAIN, "response", flow, room))
        )
    except SensitiveDataInResponse:
        return "found"
    except EdgeError:
        return "refused"
    return verdict.kind


@given(response_bodies(), codings())
def test_the_response_chain_never_passes_on_the_loop_what_it_withholds_with_room(sent, names):
    content_type, body = sent
    body = coded(body, names)
    with_room = response_outcome(content_type, names, body, None)
    on_loop = response_outcome(content_type, names, body, inline_room())
    if with_room != "clean":
        assert on_loop in (with_room, "needs_exact"), body


@given(st.data())
def test_a_card_in_ascii_base64_or_hex_is_never_cleared(data):
    pan = data.draw(pans())
    text = data.draw(grouped(pan))
    for written in (text, text.encode().hex()):
        body = json.dumps({"memo": written}).encode()
        assert DETECTOR.scan_body(body, "application/json") is NEEDS_EXACT
        assert DETECTOR.scan_app_body(body, "application/json") is NEEDS_EXACT
