"""The leak classes of issue 15, through a running stack: each sends card numbers the way a
hostile review got them stored, and the app zone's data directory is then scanned, byte
by byte, for their digits (in any spacing). The vault holds card numbers encrypted only.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import zlib
from pathlib import Path
from typing import Any

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
    attempts: list[dict[str, Any]] = [
        {"json": charge(stack, card_token, description="card 4242 4242 4242 4242 exp 12/30")},
        {
            "data": {**charge(stack, card_token), "metadata[pan]": fresh_card()},
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
    assert leaked(stack.opts.data_dir, [amex, mastercard_2, discover]) == []
