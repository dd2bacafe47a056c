"""servicekit/body.py's ASCII fast paths (an ASCII JSON string skips the surrogate and
unassigned checks; a form field without % skips the escape regexes) against the edge's
own reading (edge_proxy/detect/app_body.py): bodies built from the pieces where a fast and
a slow path could part, read by both, and the sharpest of them sent through a real stack.

The rule both hold to: whatever the API reads, the edge has read the same strings; and
the edge refuses nothing the API would read (the API may refuse more: duplicate or
bracket keys, unassigned characters)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from edge_proxy.detect.app_body import BodyRefused as EdgeRefused
from edge_proxy.detect.app_body import read_app_body
from servicekit.body import BodyRefused as ApiRefused
from servicekit.body import read_body
from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import VISA, Answer, app_zone_holding, exchange, request
from tests.e2e.conftest import Stack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

FORM_PIECES = [
    *(b"a", b"b", b"1", b"4242", b"+", b"%", b"%2", b"%zz", b"%25", b"%2B", b"%2b"),
    *(b"%C3", b"%A9", b"%c3%a9", b"\x80", b"\xc3\xa9", b"\x00", b"\x01", b"\x7f", b"%00"),
    *(b"=", b"&", b"[", b"]", b"[]", b"[0]", b"%5B", b"%3D", b"%26", b" ", b"\t"),
    *(b"%ED%A0%80", b"\xed\xa0\x80", b"%F0%9F%98%80", b"\xf0\x9f\x98\x80"),
    *(b"%e0%a5%a8", b"\xe0\xa5\xa8", b"%F0%91%BD%90", b"\xf0\x91\xbd\x90"),  # Devanagari 2; Kawi 0
]
JSON_PIECES = [
    *("a", "1", "4242", r"\u0034", r"\uff14", r"\u0e54", r"\ud800", r"\udc00"),
    *(r"\ud83d\ude00", r"\u0000", r"\u001f", "\\\\", '\\"', "é", "\x01", "\x7f", r"\u00e9"),
    *("\U00011f50", r"\ud807\udf50", " ", r"\/", "\x00", "\ud800"),
]


def leaves(value: Any) -> Iterator[str]:
    """Every key and string the API read."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, str):
        yield value


def both(body: bytes, media: str) -> tuple[list[str] | str, Any]:
    try:
        edge: list[str] | str = read_app_body(body, media)
    except EdgeRefused as refused:
        edge = refused.code
    try:
        api: Any = read_body(media, None, body)
    except ApiRefused as refused:
        api = refused.code
    return edge, api


def agree(body: bytes, media: str, api_only: set[str]) -> None:
    edge, api = both(body, media)
    if isinstance(edge, str):
        assert isinstance(api, str), (body, edge, "the API reads what the edge refuses")
        assert api == edge, body
    elif isinstance(api, str):
        assert api in api_only, (body, api)
    else:
        seen = set(edge)
        # A form's bracket key is read by the API as its parts: each part is in its key.
        unseen = [t for t in leaves(api) if t not in seen and not any(t in s for s in seen)]
        assert unseen == [], (body, unseen, edge)


def test_the_api_and_the_edge_read_every_form_alike() -> None:
    rng = random.Random(20261204)
    for _ in range(30_000):
        body = b"".join(rng.choice(FORM_PIECES) for _ in range(rng.randint(1, 8)))
        agree(body, FORM, {"invalid_form", "unassigned_characters"})


def test_the_api_and_the_edge_read_every_json_string_alike() -> None:
    rng = random.Random(20261205)

    def text() -> str:
        return '"' + "".join(rng.choice(JSON_PIECES) for _ in range(rng.randint(0, 6))) + '"'

    for _ in range(20_000):
        document = "{" + text() + ":" + text() + "," + text() + ":[" + text() + "]}"
        body = document.encode("utf-8", "surrogatepass")
        agree(body, JSON, {"invalid_json", "unassigned_characters"})


@pytest.mark.parametrize(
    "body",
    [
        b"a=%",
        b"a=1%",
        b"a=1%4",
        b"%=1",
        b"a=\x80",
        b"a=abc\xff",
        b"a=%ED%A0%80",
        b"a=\xed\xa0\x80",
        b"a=%C3",
    ],
)
def test_a_form_both_refuse_as_invalid(body: bytes) -> None:
    assert both(body, FORM) == ("invalid_form", "invalid_form")


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b"a=1+2", "1 2"),
        (b"a=1%2B2", "1+2"),
        (b"a=\x00\x01\x7f", "\x00\x01\x7f"),
        (b"a=%00", "\x00"),
        (b"a=caf\xc3\xa9", "café"),
        (b"a=caf%C3%A9", "café"),
    ],
)
def test_a_form_value_is_read_alike_by_either_path(body: bytes, value: str) -> None:
    edge, api = both(body, FORM)
    assert edge == ["a", value]
    assert api == {"a": value}


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b'{"a": "\\ud800"}', True),
        (b'{"\\udc00": "a"}', True),
        (b'{"a": "\\ud83d\\ude00"}', False),
        (b'{"a": "\\u00e9"}', False),
        (b'{"a": "\\u0000"}', False),
        (b'{"a": "\x01"}', True),  # a raw control character: not JSON for either
    ],
)
def test_a_json_escape_is_read_alike(body: bytes, refused: bool) -> None:
    edge, api = both(body, JSON)
    if refused:
        assert (edge, api) == ("invalid_json", "invalid_json")
    else:
        assert edge == ["a", json.loads(body)["a"]]
        assert api == json.loads(body)


# --- through a real stack ------------------------------------------------------------------

GROUPS = [VISA[i : i + 4] for i in range(0, 16, 4)]
CARRYING_FORMS = [
    "description=" + "+".join(GROUPS),  # `+` a space: the printed grouping
    "description=" + "%20".join(GROUPS),
    "description=" + VISA + "%",  # % at the end: refused outright
    "description=%" + VISA,
    "description=" + VISA + "%00",
    "description=\x00" + VISA,
    "description=" + "\x00".join(GROUPS),
    "description=\xe9" + VISA,  # as latin-1: a lone 0xE9 byte, not UTF-8
    "description=" + VISA + "\x80",
    "description=caf%C3%A9+" + VISA,
    "desc%72iption=" + VISA,
    "description[" + VISA + "]=x",
    "metadata[" + VISA + "]=x",
]


def charge_by_form(target: Stack, shop: MarketplaceKeys, card: str, extra: str) -> Answer:
    """The edge's answer to a form-encoded charge of `card` with `extra` appended."""
    body = f"card={card}&amount=100&currency=usd&{extra}".encode("latin-1")
    data = request(
        shop.sk_test, body, "Content-Type: application/x-www-form-urlencoded", "Connection: close"
    )
    (answer,) = exchange(target, data)
    return answer


@pytest.mark.e2e
@pytest.mark.parametrize("extra", CARRYING_FORMS)
def test_a_form_carrying_a_card_number_never_charges(
    target: Stack, shop: MarketplaceKeys, card: str, extra: str
) -> None:
    answer = charge_by_form(target, shop, card, extra)
    assert answer.status == 400, answer
    assert answer.code in {"pan_detected", "invalid_form"}, answer
    assert app_zone_holding(target) == []


CARRYING_JSON = [
    # fullwidth digits, Thai digits, escaped ASCII digits, mixed with surrogate pairs
    "".join(f"\\u{0xFF10 + int(c):04x}" for c in VISA),
    "".join(f"\\u{0x0E50 + int(c):04x}" for c in VISA),
    "".join(f"\\u{ord(c):04x}" for c in VISA),
    "\\u00e9" + VISA,
    "\\ud83d\\ude00" + VISA,
    VISA + "\\ud800",
    "\\u0000".join(GROUPS),
]


@pytest.mark.e2e
@pytest.mark.parametrize("text", CARRYING_JSON)
def test_a_json_string_carrying_a_card_number_never_charges(
    target: Stack, shop: MarketplaceKeys, card: str, text: str
) -> None:
    body = (
        f'{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{text}"}}'
    ).encode()
    data = request(shop.sk_test, body, "Content-Type: application/json", "Connection: close")
    (answer,) = exchange(target, data)
    assert answer.status == 400, answer
    assert answer.code in {"pan_detected", "invalid_json"}, answer
    assert app_zone_holding(target) == []


@pytest.mark.e2e
@pytest.mark.parametrize(
    "extra",
    ["description=caf%C3%A9", "description=caf\xc3\xa9", "description=a+b"],
)
def test_a_clean_form_off_the_fast_path_still_charges(
    target: Stack, shop: MarketplaceKeys, card: str, extra: str
) -> None:
    """The control: the probes above are refused for the card number, not for their form."""
    answer = charge_by_form(target, shop, card, extra)
    assert answer.status == 201, answer


@pytest.mark.e2e
@pytest.mark.parametrize("extra", ["description=%00", "description=\x00"])
def test_a_nul_the_edge_passes_is_refused_by_the_api(
    target: Stack, shop: MarketplaceKeys, card: str, extra: str
) -> None:
    """Both readings read a NUL (above); the API then refuses to keep it: stricter than the
    edge, which is the safe side."""
    answer = charge_by_form(target, shop, card, extra)
    assert (answer.status, answer.code) == (400, "body_invalid"), answer
