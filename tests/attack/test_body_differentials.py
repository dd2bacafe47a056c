"""The edge against the API's reading of a body (servicekit.body): charsets, media types,
content codings, JSON and form oddities. Each probe carries a card number past where the
edge might look and the API might read; none may be stored, none may charge.

Beside each refusal, the same framing around a clean body shows that the edge refuses
only what the API would refuse too: a filter stricter than its backend breaks SDKs, one
looser leaks.
"""

from __future__ import annotations

import gzip
import json
import zlib
from urllib.parse import quote

import brotli  # type: ignore[import-untyped]
import pytest

from strongroom.marketplaces import MarketplaceKeys
from tests.attack.conftest import CARD, VISA, app_zone_holding, exchange, request
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

JSON = "Content-Type: application/json"
FORM = "Content-Type: application/x-www-form-urlencoded"
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in VISA)


def charge(card: str, **extra: object) -> dict[str, object]:
    return {"card": card, "amount": 100, "currency": "usd", **extra}


def json_bytes(card: str, **extra: object) -> bytes:
    return json.dumps(charge(card, **extra)).encode()


def form_bytes(card: str, extra: str = "") -> bytes:
    return f"card={card}&amount=100&currency=usd{extra}".encode()


def post(stack: Stack, shop: MarketplaceKeys, body: bytes, *headers: str) -> tuple[int, str]:
    (answer,) = exchange(stack, request(shop.sk_test, body, *headers, "Connection: close"))
    return answer.status, answer.code or ""


# --- media types and charsets ---------------------------------------------------------------

# (Content-Type lines, whether the API reads a body sent so): refused ones must be refused
# by the edge whatever they hold; accepted ones must be read by the edge as the API reads.
MEDIA = [
    (["Content-Type: application/json; foo"], False),
    (["Content-Type: application/json; charset=utf-16"], False),
    (["Content-Type: application/json; charset=utf-7"], False),
    (["Content-Type: application/json; charset=latin-1"], False),
    (["Content-Type: application/json; charset=x-unknown"], False),
    (["Content-Type: application/json; charset=utf-8; charset=utf-16"], False),
    (["Content-Type: application/json; charset=utf-16; charset=utf-8"], False),
    (["Content-Type: application/json; charset=utf8"], False),
    (["Content-Type: application/json;"], False),
    (["Content-Type: text/plain"], False),
    (["Content-Type: text/json"], False),
    (["Content-Type: application/problem+json"], False),
    (["Content-Type: multipart/form-data; boundary=x"], False),
    ([], False),
    ([JSON, JSON], False),
    (["Content-Type: application/json; charset=utf-8; charset=UTF-8"], True),
    (['Content-Type: application/json; charset="utf-8"'], True),
    (["Content-Type: APPLICATION/JSON ; CHARSET=UTF-8"], True),
    (["Content-Type: application/json\t;\tcharset=utf-8"], True),
]


@pytest.mark.parametrize(("types", "read"), MEDIA, ids=[" | ".join(t) or "none" for t, _ in MEDIA])
def test_a_json_body_is_refused_or_read_as_the_api_reads_its_content_type(
    target: Stack, shop: MarketplaceKeys, card: str, types: list[str], read: bool
) -> None:
    clean = post(target, shop, json_bytes(card), *types)
    carrying = post(target, shop, json_bytes(card, description=ESCAPED), *types)
    if read:
        assert clean[0] == 201, clean
        assert carrying == (400, "pan_detected"), carrying
    else:
        assert clean == (415, "unsupported_media_type"), clean
        assert carrying == (415, "unsupported_media_type"), carrying
    assert app_zone_holding(target) == []


@pytest.mark.parametrize(("types", "read"), MEDIA, ids=[" | ".join(t) or "none" for t, _ in MEDIA])
def test_a_card_is_tokenised_only_under_a_label_the_api_would_read_too(
    target: Stack, shop: MarketplaceKeys, types: list[str], read: bool
) -> None:
    """The edge passes a card body to the vault unread: the vault keeps the API's rules."""
    body = json.dumps(CARD).encode()
    raw = request(shop.pk_test, body, *types, "Connection: close", target="/v1/cards")
    (answer,) = exchange(target, raw)
    if read:
        assert answer.status == 201, answer
    else:
        assert (answer.status, answer.code) == (415, "unsupported_media_type"), answer
        assert VISA.encode() not in answer.body


def test_a_card_in_utf16_is_never_tokenised_labelled_or_not(
    target: Stack, shop: MarketplaceKeys
) -> None:
    body = json.dumps(CARD).encode("utf-16")
    for label in (JSON, "Content-Type: application/json; charset=utf-16"):
        raw = request(shop.pk_test, body, label, "Connection: close", target="/v1/cards")
        (answer,) = exchange(target, raw)
        assert answer.status in (400, 415), answer
        assert VISA.encode() not in answer.body


def test_a_form_in_any_case_of_its_media_type_is_read(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    types = "Content-Type: Application/X-WWW-Form-URLEncoded"
    assert post(target, shop, form_bytes(card), types)[0] == 201
    assert post(target, shop, form_bytes(card, f"&description={VISA}"), types) == (
        400,
        "pan_detected",
    )


def test_a_multipart_body_with_a_card_number_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    body = (
        f'--b\r\nContent-Disposition: form-data; name="card"\r\n\r\n{card}\r\n'
        f'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\n{VISA}\r\n--b--\r\n'
    ).encode()
    assert post(target, shop, body, "Content-Type: multipart/form-data; boundary=b")[0] in (
        400,
        415,
    )
    assert app_zone_holding(target) == []


def test_utf16_json_holding_a_card_number_is_refused_declared_or_not(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    body = json.dumps(charge(card, description=VISA)).encode("utf-16")
    assert post(target, shop, body, JSON)[0] in (400, 415)
    assert post(target, shop, body, JSON + "; charset=utf-16")[0] == 415
    assert app_zone_holding(target) == []


# --- content codings ------------------------------------------------------------------------


def _deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


CODINGS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "deflate-raw": _deflate_raw,
    "br": brotli.compress,
    "gzip, gzip": lambda b: gzip.compress(gzip.compress(b)),
    "gzip, br": lambda b: brotli.compress(gzip.compress(b)),
    "GZIP ,  Deflate": lambda b: zlib.compress(gzip.compress(b)),
    "identity": lambda b: b,
    "identity, gzip": gzip.compress,
}


@pytest.mark.parametrize("coding", list(CODINGS))
def test_a_coded_body_is_read_decoded_by_both_and_its_card_number_refused(
    target: Stack, shop: MarketplaceKeys, card: str, coding: str
) -> None:
    encode = CODINGS[coding]
    name = "deflate" if coding == "deflate-raw" else coding
    clean = post(target, shop, encode(json_bytes(card)), JSON, f"Content-Encoding: {name}")
    carrying = encode(json_bytes(card, description=VISA))
    refused = post(target, shop, carrying, JSON, f"Content-Encoding: {name}")
    assert clean[0] == 201, clean
    assert refused == (400, "pan_detected"), refused
    assert app_zone_holding(target) == []


def test_codings_split_over_two_headers_are_undone_in_order(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    body = brotli.compress(gzip.compress(json_bytes(card, description=VISA)))
    refused = post(target, shop, body, JSON, "Content-Encoding: gzip", "Content-Encoding: br")
    assert refused == (400, "pan_detected"), refused


@pytest.mark.parametrize("coding", ["compress", "zstd", "gzip;q=1", "gzip, foo", "chunked"])
def test_an_unknown_coding_is_refused_whatever_the_body(
    target: Stack, shop: MarketplaceKeys, card: str, coding: str
) -> None:
    refused = post(
        target, shop, json_bytes(card, description=VISA), JSON, f"Content-Encoding: {coding}"
    )
    assert refused == (415, "unsupported_content_encoding"), refused


def test_a_body_that_lies_about_its_coding_is_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    refused = post(target, shop, json_bytes(card, description=VISA), JSON, "Content-Encoding: gzip")
    assert refused[0] == 400 and refused[1] != "", refused
    cut = gzip.compress(json_bytes(card, description=VISA))[:-12]
    assert post(target, shop, cut, JSON, "Content-Encoding: gzip")[0] == 400
    assert app_zone_holding(target) == []


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_a_compression_bomb_is_refused_unread(
    target: Stack, shop: MarketplaceKeys, layers: int
) -> None:
    body = b'{"description": "' + b"0" * (64 << 20) + b'"}'
    for _ in range(layers):
        body = gzip.compress(body, compresslevel=9)
    coding = ", ".join(["gzip"] * layers)
    refused = post(target, shop, body, JSON, f"Content-Encoding: {coding}")
    assert refused == (413, "body_too_large_to_inspect"), refused


# --- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{pan}", '
         '"description": "ok"}}', "invalid_json"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "metadata": '
         '{{"a": "{pan}", "a": "ok"}}}}', "invalid_json"),
        ('\ufeff{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{pan}"}}',
         "invalid_json"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{esc}"}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "metadata": {{"{esc}": "x"}}}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "metadata": {{"n": {pan}}}}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "metadata": {{"n": 0.{pan}e16}}}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "metadata": {{"n": -{pan}}}}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{arabic}"}}',
         "pan_detected"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "\\ud800{pan}"}}',
         "invalid_json"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{pan}"}}  \x00',
         "invalid_json"),
        ('{{"card": "{card}", "amount": 100, "currency": "usd", "description": "{pan}"}}'
         '{{"x": 1}}', "invalid_json"),
    ],
    ids=["dup-key", "dup-nested", "bom", "u-escapes", "escaped-key", "number", "exponent",
         "negative", "arabic-digits", "lone-surrogate", "trailing-nul", "two-documents"],
)  # fmt: skip
def test_json_oddities_never_carry_a_card_number_past_the_edge(
    target: Stack, shop: MarketplaceKeys, card: str, body: str, code: str
) -> None:
    arabic = "".join(chr(0x0660 + int(d)) for d in VISA)
    text = body.format(card=card, pan=VISA, esc=ESCAPED, arabic=arabic)
    status, got = post(target, shop, text.encode(), JSON)
    assert (status, got) == (400, code), (status, got)
    assert app_zone_holding(target) == []


# --- forms ----------------------------------------------------------------------------------

GROUPS = [VISA[i : i + 4] for i in range(0, 16, 4)]


@pytest.mark.parametrize(
    "extra",
    [
        f"&metadata[n]={VISA}&metadata[n]=ok",  # repeated: the API refuses a key given twice
        f"&source[number]={VISA[:8]}&source[number]={VISA[8:]}",  # Stripe's card hash, split
        f"&description={'+'.join(GROUPS)}",
        "&description=" + "".join(f"%{ord(c):02X}" for c in VISA),
        "&description=" + "".join(f"%{ord(c):02x}" for c in VISA),
        "&description=" + "".join(f"%25{ord(c):02X}" for c in VISA),  # escaped twice
        f"&description=%00{VISA}",
        f"&description={VISA[:8]}%00{VISA[8:]}",
        f"&metadata%5Bnote%5D={VISA}",
        f"&metadata[{VISA}]=x",
        f"&metadata[n][]={VISA}",
        f"&description={VISA}&",
        f"&&description={VISA}",
        f"&description=%C0%B4{VISA[1:]}",  # overlong '4': not UTF-8
        "&description=" + "%EF%BC%94" * 1 + VISA[1:],  # fullwidth 4
    ],
    ids=["repeated", "card-number-twice", "plus", "pct-upper", "pct-lower", "pct-twice",
         "nul-first", "nul-inside", "pct-brackets", "in-key", "array", "trailing-amp",
         "double-amp", "overlong", "fullwidth"],
)  # fmt: skip
def test_form_oddities_never_carry_a_card_number_past_the_edge(
    target: Stack, shop: MarketplaceKeys, card: str, extra: str
) -> None:
    status, code = post(target, shop, form_bytes(card, extra), FORM)
    assert status == 400 and code in ("pan_detected", "invalid_form", "body_invalid"), code
    assert app_zone_holding(target) == []


def test_a_json_body_sent_as_a_form_and_a_form_sent_as_json_are_refused(
    target: Stack, shop: MarketplaceKeys, card: str
) -> None:
    as_form = post(target, shop, json_bytes(card, description=VISA), FORM)
    as_json = post(target, shop, form_bytes(card, f"&description={VISA}"), JSON)
    assert as_form == (400, "pan_detected"), as_form
    assert as_json == (400, "invalid_json"), as_json
    assert app_zone_holding(target) == []


# --- digits of a later Unicode ----------------------------------------------------------------

LATER = {"kawi": 0x11F50, "nag-mundari": 0x1E4F0, "outlined": 0x1CCF0, "kirat-rai": 0x16D70}


@pytest.mark.parametrize("script", list(LATER))
@pytest.mark.parametrize("place", ["description", "metadata-key", "form", "mixed"])
def test_a_card_number_in_digits_the_edge_does_not_know_is_never_stored(
    target: Stack, shop: MarketplaceKeys, card: str, script: str, place: str
) -> None:
    """Digits assigned after this Python's Unicode are no digits to the edge, which passes
    them; a later Python's int() reads them as the card number. The API refuses them."""
    digits = "".join(chr(LATER[script] + int(d)) for d in VISA)
    if place == "mixed":  # four ASCII digits, then twelve the edge does not know
        digits = VISA[:4] + digits[4:]
    if place == "form":
        sent = post(target, shop, form_bytes(card, "&description=" + quote(digits)), FORM)
    else:
        extra: dict[str, object] = (
            {"description": digits} if place == "description" else {"metadata": {digits: "x"}}
        )
        sent = post(target, shop, json_bytes(card, **extra), JSON)
    assert sent[0] == 400, sent
    assert sent[1] in ("pan_detected", "unassigned_characters"), sent
