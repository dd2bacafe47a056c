"""HTTP framing against the edge: a message the edge and the router could split
differently would carry a card number past the filter inside another request's body.
The edge reads one spelling of a message and refuses the rest (docs/edge.md)."""

from __future__ import annotations

import json

import pytest

from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import VISA, app_zone_holding, exchange, request
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

JSON = "Content-Type: application/json"


def bodies(card: str) -> tuple[bytes, bytes]:
    clean = {"card": card, "amount": 100, "currency": "usd"}
    return json.dumps(clean).encode(), json.dumps({**clean, "description": VISA}).encode()


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    return b"%x%s\r\n%s\r\n" % (len(data), extension, data)


def statuses(stack: Stack, data: bytes) -> list[tuple[int, str | None]]:
    return [(a.status, a.code) for a in exchange(stack, data)]


def test_a_chunked_body_is_read_whole_and_its_card_number_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, carrying = bodies(card)
    te = "Transfer-Encoding: chunked"
    ok = request(
        shop.sk_test, chunk(clean[:9]) + chunk(clean[9:]) + b"0\r\n\r\n", JSON, te, length=False
    )
    split = carrying.index(VISA.encode()) + 8  # the number cut between two chunks
    bad = chunk(carrying[:split]) + chunk(carrying[split:]) + b"0\r\n\r\n"
    assert statuses(target, ok) == [(201, None)]
    assert statuses(target, request(shop.sk_test, bad, JSON, te, length=False)) == [
        (400, "pan_detected")
    ]


@pytest.mark.parametrize(
    "framing",
    [
        ["Transfer-Encoding: chunked", "Content-Length: {n}"],
        ["Content-Length: {n}", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: chunked, identity"],
        ["Transfer-Encoding: identity", "Content-Length: {n}"],
        ["Transfer-Encoding: gzip, chunked"],
        ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
        ["Content-Length: {n}", "Content-Length: {n}"],
        ["Content-Length: {n}, {n}"],
        ["Content-Length: +{n}"],
        ["Content-Length: 0x{x}"],
        ["Content-Length : {n}"],
        ["Content_Length: {n}"],
        ["X-Folded: a", " b", "Content-Length: {n}"],
    ],
    ids=["te-then-cl", "cl-then-te", "te-list", "te-identity", "te-gzip",
         "te-twice", "cl-twice", "cl-list", "cl-plus", "cl-hex",
         "cl-space-colon", "cl-underscore", "obs-fold"],
)  # fmt: skip
def test_ambiguous_framing_is_refused_and_the_connection_closed(
    target: Stack, shop: MarketplaceKeys, card: str, framing: list[str]
) -> None:
    clean, carrying = bodies(card)
    body = chunk(clean) + b"0\r\n\r\n"
    n = len(body)
    # A request after it that one reading would take as the first one's body
    lines = [line.format(n=n, x=f"{n:x}") for line in framing]
    if framing == ["Transfer-Encoding: chunked"] and "chunk-ext" in str(lines):
        pass
    smuggled = request(shop.sk_test, carrying, JSON)
    first = request(shop.sk_test, body, JSON, *lines, length=False)
    answers = statuses(target, first + smuggled)
    assert len(answers) == 1 and answers[0][0] == 400, answers
    assert app_zone_holding(target) == []


@pytest.mark.parametrize("spelling", ["Transfer-Encoding:chunked ", "transfer-encoding: CHUNKED"])
def test_chunked_in_any_case_and_whitespace_is_read_as_chunked(
    target: Stack, shop: MarketplaceKeys, card: str, spelling: str
) -> None:
    clean, carrying = bodies(card)
    first = request(shop.sk_test, chunk(clean) + b"0\r\n\r\n", JSON, spelling, length=False)
    answers = statuses(target, first + request(shop.sk_test, carrying, JSON))
    assert answers == [(201, None), (400, "pan_detected")]


def test_a_chunk_extension_or_trailer_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, _ = bodies(card)
    te = "Transfer-Encoding: chunked"
    extended = chunk(clean, b";note=" + VISA.encode()) + b"0\r\n\r\n"
    trailed = chunk(clean) + b"0\r\nX-Note: " + VISA.encode() + b"\r\n\r\n"
    for body in (extended, trailed):
        assert statuses(target, request(shop.sk_test, body, JSON, te, length=False)) == [
            (400, "bad_request")
        ]
    assert app_zone_holding(target) == []


def test_pipelined_requests_are_each_inspected(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, carrying = bodies(card)
    pipelined = b"".join(
        request(shop.sk_test, body, JSON) for body in (clean, carrying, clean, carrying)
    )
    assert statuses(target, pipelined) == [
        (201, None),
        (400, "pan_detected"),
        (201, None),
        (400, "pan_detected"),
    ]
    assert app_zone_holding(target) == []


def test_http_1_0_is_inspected_as_1_1_and_needs_a_host(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, carrying = bodies(card)

    def old(body: bytes, *lines: str) -> bytes:
        head = ["POST /v1/charges HTTP/1.0", f"Authorization: Bearer {shop.sk_test}", JSON]
        head += [*lines, f"Content-Length: {len(body)}"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    assert statuses(target, old(clean, "Host: api.localhost")) == [(201, None)]
    assert statuses(target, old(carrying, "Host: api.localhost")) == [(400, "pan_detected")]
    assert statuses(target, old(carrying))[0][0] in (400, 421)
    chunked = chunk(carrying) + b"0\r\n\r\n"
    te = old(chunked, "Host: api.localhost", "Transfer-Encoding: chunked")
    assert statuses(target, te)[0][0] == 400
    assert app_zone_holding(target) == []


def test_expect_100_continue_is_answered_only_after_the_body_is_inspected(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, carrying = bodies(card)
    expect = "Expect: 100-continue"
    assert statuses(target, request(shop.sk_test, clean, JSON, expect))[-1] == (201, None)
    assert statuses(target, request(shop.sk_test, carrying, JSON, expect))[-1] == (
        400,
        "pan_detected",
    )


def test_very_large_heads_and_bodies_are_refused_not_truncated(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    clean, _ = bodies(card)
    big_head = request(shop.sk_test, clean, JSON, "X-Pad: " + "a" * 100_000 + VISA)
    assert statuses(target, big_head)[0][0] == 431
    huge = json.dumps({"card": card, "description": "a" * (2 << 20) + VISA}).encode()
    assert statuses(target, request(shop.sk_test, huge, JSON))[0][0] == 413
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(
    "target_line",
    [
        "http://api.localhost/v1/charges",
        "/v1/charges#x",
        "*",
        "/v1/charges/../../internal/v1/cards",
    ],
)
def test_odd_request_targets_are_refused(
    target: Stack, shop: MarketplaceKeys, card: str, target_line: str
) -> None:
    _, carrying = bodies(card)
    answers = statuses(target, request(shop.sk_test, carrying, JSON, target=target_line))
    assert answers[0][0] in (400, 404), answers
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(
    "refusing", ["Content-Encoding: compress", "Content-Type: text/plain", "X-Note: " + VISA]
)
def test_a_body_refused_before_it_is_read_is_never_read_as_a_request(
    target: Stack, shop: MarketplaceKeys, card: str, refusing: str
) -> None:
    _, carrying = bodies(card)
    inner = request(shop.sk_test, carrying, JSON)
    types = [] if refusing.startswith("Content-Type") else [JSON]
    answers = statuses(target, request(shop.sk_test, inner, *types, refusing))
    assert len(answers) == 1 and answers[0][0] in (400, 415), answers
    assert app_zone_holding(target) == []
