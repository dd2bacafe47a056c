"""The leak classes of issue 15, through a running stack: each sends card numbers the way a
hostile review got them stored, and the app zone's data directory is then scanned, byte
by byte, for their digits (in any spacing). The vault holds card numbers encrypted only.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import random
import re
import string
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.edge_proxy.cards import DOCUMENTED_CARDS, luhn_complete

pytestmark = pytest.mark.e2e

_chooser = random.Random(15)


def fresh_card(prefix: str = "4", length: int = 16) -> str:
    """A Luhn-valid number of a brand's range that no other test sends."""
    body = "".join(_chooser.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return luhn_complete(prefix + body)


def printed(number: str, sep: str) -> str:
    return sep.join(number[i : i + 4] for i in range(0, len(number), 4))


def leaked(data_dir: Path, numbers: list[str]) -> list[str]:
    """Files of the data directory that hold one of `numbers`, digits parted by anything
    but digits (up to 12 bytes between two of them)."""
    patterns = [re.compile(rb"\D{0,12}".join(d.encode() for d in n)) for n in numbers]
    found = []
    for path in data_dir.rglob("*"):
        if path.is_file() and "vault" not in path.name:
            data = path.read_bytes()
            pairs = zip(numbers, patterns, strict=True)
            found += [f"{path.name}: …{n[-4:]}" for n, p in pairs if p.search(data)]
    return found


@pytest.fixture(scope="module")
def card_token(stack: Stack) -> str:
    year = dt.date.today().year + 2
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": year, "cvc": "123"}
    with stack.client(stack.keys.pk_test) as browser:
        response = browser.post("/v1/cards", json=card)
    assert response.status_code in (200, 201), response.text
    token: str = response.json()["id"]
    return token


def charge(stack: Stack, token: str, **extra: Any) -> dict[str, Any]:
    return {"card": token, "amount": 1500, "currency": "usd", **extra}


def send(stack: Stack, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with stack.client(stack.keys.sk_test) as api:
        return api.request(method, path, **kwargs)


def refused(response: httpx.Response) -> bool:
    return response.status_code in (400, 413, 415) and "error" in response.json()


def escaped(number: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in number)


def test_the_api_never_reads_a_body_the_edge_read_otherwise(stack: Stack, card_token: str):
    numbers = [fresh_card() for _ in range(8)]
    bodies = [
        json.dumps(charge(stack, card_token, description="x")).replace('"x"', f'"{escaped(n)}"')
        for n in numbers
    ]
    types = [
        "text/plain",
        "application/octet-stream",
        None,
        "application/x-www-form-urlencoded",
        "application/json; charset=shift_jis_2004",
        "application/json; charset=hz",
        "application/json; charset=utf-16",
        "application/merge-patch+json",
    ]
    for body, content_type in zip(bodies, types, strict=True):
        headers = {"content-type": content_type} if content_type else {}
        response = send(stack, "POST", "/v1/charges", content=body.encode(), headers=headers)
        assert refused(response), (content_type, response.status_code, response.text)
    # Escapes that hide digits from a text reading: \/ and \u00a0 between groups.
    hidden = fresh_card()
    described = printed(hidden, "\\u00a0").replace("\\u00a0", "\\/", 1)
    body = json.dumps(charge(stack, card_token, description="x")).replace('"x"', f'"{described}"')
    response = send(stack, "POST", "/v1/charges", content=body.encode(), headers={})
    assert refused(response)
    assert leaked(stack.opts.data_dir, [*numbers, hidden]) == []


def test_compressed_bodies_reach_the_api_decoded_and_only_as_inspected(
    stack: Stack, card_token: str
):
    number = fresh_card("51")
    headers = {"content-type": "application/json", "content-encoding": "deflate"}
    # JSON sent as if it were deflate: it does not inflate, so nothing is forwarded.
    raw = json.dumps(charge(stack, card_token, description=number)).encode()
    assert refused(send(stack, "POST", "/v1/charges", content=raw, headers=headers))
    # Deflate of JSON holding a card number: inflated, read, refused.
    assert refused(send(stack, "POST", "/v1/charges", content=zlib.compress(raw), headers=headers))
    # Deflate of clean JSON: the API gets the decoded bytes, and stores what was read.
    clean = json.dumps(charge(stack, card_token, description="deflated order 77")).encode()
    for coding in ("deflate", "DEFLATE", "deflate ,identity"):
        response = send(
            stack,
            "POST",
            "/v1/charges",
            content=zlib.compress(clean),
            headers={"content-type": "application/json", "content-encoding": coding},
        )
        assert response.status_code == 201, response.text
        assert response.json()["description"] == "deflated order 77"
    assert leaked(stack.opts.data_dir, [number]) == []


_FREE = string.ascii_letters + "-_.,:;!?()"  # no digit: the card stays a number of its own


def polyglot(number: str, seed: int = 15, budget: int = 200_000) -> bytes:
    """Compact JSON whose description holds `number`, and which is at once one whole
    raw-deflate stream: its "{" opens a final block of fixed Huffman codes, and a seeded
    depth-first search picks the free letters (and the trailing whitespace) so that every
    code decodes, no distance reaches before the start, and the block ends on the last
    byte."""
    chooser = random.Random(seed)
    free: list[str | None] = [None] * 12
    plan = ['{"description":"', *free, " " + number + " ", *free, '","note":"', *free * 2, '"}']
    plan += ["\t"] * 8  # a whitespace byte each
    steps = 0

    def walk(inflater: Any, at: int) -> str | None:
        nonlocal steps
        steps += 1
        if steps > budget or at == len(plan):
            return None
        item = plan[at]
        choices = chooser.sample(_FREE, len(_FREE)) if item is None else [item]
        if item == "\t":
            choices = chooser.sample(" \t\r\n", 4)
        for text in choices:
            copy = inflater.copy()
            try:
                copy.decompress(text.encode())
            except zlib.error:
                continue
            if copy.eof:
                if item == "\t" and not copy.unused_data:
                    return text
                continue
            rest = walk(copy, at + 1)
            if rest is not None:
                return text + rest
        return None

    found = walk(zlib.decompressobj(-zlib.MAX_WBITS), 0)
    assert found is not None, "no polyglot within the search budget"
    return found.encode()


def test_a_body_both_json_and_deflate_is_read_one_way_and_never_stored(stack: Stack):
    numbers = [fresh_card(), fresh_card("51"), fresh_card("37", 15)]
    for number in numbers:
        body = polyglot(number)
        assert number in json.loads(body)["description"].split()  # JSON, card and all
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        inflated = inflater.decompress(body)
        assert inflater.eof and not inflater.unused_data  # and one whole raw-deflate stream
        # No JSON text is a zlib or gzip stream: its first byte is "{" or whitespace, never
        # a zlib header's (method 8) nor gzip's magic 1f 8b.
        for framed in (zlib.decompress, gzip.decompress):
            with pytest.raises((zlib.error, OSError)):
                framed(body)
        for coding in (None, "deflate", "DEFLATE", "gzip", "x-gzip", "deflate ,identity"):
            headers = {"content-type": "application/json"}
            if coding is not None:
                headers["content-encoding"] = coding
            response = send(stack, "POST", "/v1/charges", content=body, headers=headers)
            # As JSON it holds a card number; inflated, it is not JSON (nor UTF-8); as gzip
            # it does not decode. Refused every way, before the API.
            assert refused(response), (coding, response.status_code, response.text)
            code = response.json()["error"]["code"]
            expected = {None: "pan_detected", "gzip": "body_malformed", "x-gzip": "body_malformed"}
            assert code == expected.get(coding, "invalid_json"), (coding, code)
        assert inflated not in (b"", body)
    assert leaked(stack.opts.data_dir, numbers) == []


PAREN = {str(d): chr(0x2473 + d) for d in range(1, 10)}  # ⑴..⑼
NEG = {str(d): chr(0x2775 + d) for d in range(1, 10)}  # ❶..❾
DOUBLE = {str(d): chr(0x24F4 + d) for d in range(1, 10)}  # ⓵..⓽
ZEROS = ["\u24ea", "\u24ff", "\u3007"]  # ⓪ ⓿ 〇
CJK = dict(zip("0123456789", "〇一二三四五六七八九", strict=True))
FILLERS = ["\u3164", "\u2800", "\u115f", "\uffa0"]


def disguises(n: str, chooser: random.Random) -> dict[str, str]:
    """`n` in each digit form, with each filler, in each false allow-listed shape and in
    each encoding the hostile review found not undone (issue 15, medium)."""

    def digit_form(table: dict[str, str]) -> str:
        return "".join(table.get(d) or chooser.choice(ZEROS) for d in n)

    def percent(text: str, times: int) -> str:
        for _ in range(times):
            text = quote(text, safe="")
        return text

    b64 = base64.b64encode(n.encode()).decode()
    return {
        "parenthesized": digit_form(PAREN),
        "negative circled": digit_form(NEG),
        "double circled": digit_form(DOUBLE),
        "cjk numerals": "".join(CJK[d] for d in n),
        **{f"filler {ord(f):04X}": f.join(n) for f in FILLERS},
        "false iban": "ZZ11 " + " ".join(n[i : i + 4] for i in range(0, len(n), 4)),
        "base32": base64.b32encode(n.encode()).decode(),
        "quoted-printable": "".join(f"={ord(c):02X}" for c in n),
        "html entities": "".join(f"&#{ord(c)};" for c in n),
        "hex escapes": "".join(f"\\x{ord(c):02x}" for c in n),
        "%u escapes": "".join(f"%u{ord(c):04x}" for c in n),
        "base64 of utf-16": base64.b64encode(n.encode("utf-16-le")).decode(),
        "base64 broken by whitespace": " ".join(b64[i : i + 4] for i in range(0, len(b64), 4)),
        "base64 of base64": base64.b64encode(b64.encode()).decode(),
        "gzip in base64": base64.b64encode(gzip.compress(n.encode())).decode(),
        "percent-encoded 6 times": percent(n, 6),
        **({"false uuid": f"{n[:8]}-{n[8:12]}-{n[12:]}-0000-000000000000"} if len(n) == 16 else {}),
    }


def test_digit_forms_fillers_false_allow_listed_shapes_and_encodings_are_refused(
    stack: Stack, card_token: str
):
    chooser = random.Random(1515)
    numbers = [fresh_card(), fresh_card("51"), fresh_card("37", 15), fresh_card("6011")]
    for number in numbers:
        for name, text in disguises(number, chooser).items():
            for body in (
                charge(stack, card_token, metadata={"note": text}),
                charge(stack, card_token, description=f"ref {text}"),
            ):
                response = send(stack, "POST", "/v1/charges", json=body)
                assert response.status_code == 400, (name, response.text)
                assert response.json()["error"]["code"] == "pan_detected", name
            if text.isascii():
                response = send(stack, "GET", "/v1/charges", headers={"idempotency-key": text})
                assert response.status_code == 400, (name, response.text)
    assert leaked(stack.opts.data_dir, numbers) == []


SEPARATORS = [", ", ",", ":", "|", ";", "'", "·", "•", "、", "  ", " - ", "\r\n", "\u00a0\u00a0"]


def test_separators_of_every_kind_are_refused_in_every_place(stack: Stack, card_token: str):
    numbers = []
    for sep in SEPARATORS:
        number = fresh_card()
        numbers.append(number)
        text = printed(number, sep)
        quoted = httpx.QueryParams({"q": text}).__str__()[2:]
        attempts = [
            ("POST", "/v1/charges", {"json": charge(stack, card_token, description=text)}),
            (
                "POST",
                "/v1/charges",
                {"json": charge(stack, card_token, metadata={"note": text})},
            ),
            ("GET", "/v1/charges?description=" + quoted, {}),
            ("GET", "/v1/charges/" + quoted, {}),
        ]
        if "\r" not in sep and sep.isascii():
            attempts += [
                ("GET", "/v1/charges", {"headers": {"idempotency-key": text}}),
                ("GET", "/v1/charges", {"headers": {"x-request-id": text}}),
                ("GET", "/v1/charges", {"headers": {"cookie": f"a=1; memo={quoted}"}}),
            ]
        for method, path, kwargs in attempts:
            response = send(stack, method, path, **kwargs)
            assert response.status_code == 400, (repr(sep), method, path, response.text)
            assert response.json()["error"]["code"] == "pan_detected"
    assert leaked(stack.opts.data_dir, numbers) == []


def test_careless_integrators_are_refused(stack: Stack, card_token: str):
    amex = fresh_card("37", 15)
    mastercard_2 = fresh_card("2221")
    discover = fresh_card("6011")
    pan = fresh_card()
    attempts: list[dict[str, Any]] = [
        {"json": charge(stack, card_token, description="card 4242 4242 4242 4242 exp 12/30")},
        {
            "data": {**charge(stack, card_token), "metadata[pan]": pan},
        },
        {
            "data": {
                **charge(stack, card_token),
                "metadata[cc]": f"{amex[:4]} {amex[4:10]} {amex[10:]}",
            }
        },
        {"json": charge(stack, card_token, description=f"mc {mastercard_2}")},
        {"json": charge(stack, card_token, metadata={"ref": discover})},
    ]
    attempts += [
        {"json": charge(stack, card_token, metadata={"card": card})}
        for cards in DOCUMENTED_CARDS.values()
        for card in cards
    ]
    for kwargs in attempts:
        response = send(stack, "POST", "/v1/charges", **kwargs)
        assert response.status_code == 400, (kwargs, response.text)
        assert response.json()["error"]["code"] == "pan_detected"
    assert leaked(stack.opts.data_dir, [amex, mastercard_2, discover, pan]) == []
