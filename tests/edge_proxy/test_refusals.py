"""Properties of the running edge: a card number bound for the app zone is refused and
never forwarded, wherever and however it is written; PAN-free traffic passes untouched.

Each example goes over a real socket to the edge; the upstreams record what reaches them.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import string
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import brotli  # type: ignore[import-untyped]
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.edge_proxy.cards import disguised, grouped, luhn_breaks, pans, percent_encoded

# The module's edge and upstreams are shared by every example: reset in the test body.
SHARED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class Outgoing:
    """One request to send, and where the edge should say it found the card."""

    method: str
    url: str
    param: str
    headers: Mapping[str, str | bytes] = field(default_factory=dict)
    content: bytes = b""
    # The refusal expected: a card number found, or a body the API would read otherwise.
    status: int = 400
    code: str = "pan_detected"
    type: str = "sensitive_data"

    def send(self, client: httpx.Client) -> httpx.Response:
        headers = [
            (k.encode(), v if isinstance(v, bytes) else v.encode()) for k, v in self.headers.items()
        ]
        return client.request(self.method, self.url, headers=headers, content=self.content)


JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}
# Bodies the API would not read as the edge would: refused whatever they hold.
MEDIA_REFUSED: dict[str, Any] = {
    "status": 415,
    "code": "unsupported_media_type",
    "type": "invalid_request_error",
}


def number_forms(pan: str) -> list[str]:
    n = len(pan)
    return [pan, f"{pan}.0", f"{pan[0]}.{pan[1:]}e{n - 1}", f"{pan}0e-1", f"0.{pan}e{n}"]


@st.composite
def pan_requests(draw: st.DrawFn) -> Outgoing:
    """A request to /v1/… with one card number, disguised, in one place."""
    pan = draw(pans())
    text = draw(disguised(pan))
    times = draw(st.integers(1, 2))  # percent-encoded once or twice
    place = draw(
        st.sampled_from(
            [
                "json string",
                "json number",
                "json duplicate key",
                "form",
                "multipart",
                "text",
                "query",
                "path",
                "header",
                "cookie",
                "basic auth",
                "json escaped",
                "json base64",
                "json hex",
                "compressed json",
                "utf-16 json",
                "header base64",
            ]
        )
    )
    if place == "json escaped":
        escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in text)
        return Outgoing("POST", "/v1/charges", "body", JSON, f'{{"memo": "{escaped}"}}'.encode())
    plain = draw(grouped(pan))
    if place == "json base64":
        encoder = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode]))
        doc = {"memo": encoder(plain.encode()).decode()}
        return Outgoing("POST", "/v1/charges", "body", JSON, json.dumps(doc).encode())
    if place == "json hex":
        doc = {"memo": plain.encode().hex()}
        return Outgoing("POST", "/v1/charges", "body", JSON, json.dumps(doc).encode())
    if place == "compressed json":
        body = json.dumps({"memo": text}).encode()
        codings = draw(st.lists(st.sampled_from(["gzip", "deflate", "br"]), min_size=1, max_size=3))
        compress = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}
        for coding in codings:
            body = compress[coding](body)
        headers = {**JSON, "content-encoding": ", ".join(codings)}
        return Outgoing("POST", "/v1/charges", "body", headers, body)
    if place == "utf-16 json":
        body = json.dumps({"memo": text}, ensure_ascii=False).encode("utf-16")
        headers = {"content-type": "application/json; charset=utf-16"}
        return Outgoing("POST", "/v1/charges", "content-type", headers, body, **MEDIA_REFUSED)
    if place == "header base64":
        encoded = base64.b64encode(plain.encode()).decode()
        return Outgoing("GET", "/v1/charges", "header:x-memo", {"x-memo": encoded})
    if place == "json string":
        ascii_only = draw(st.booleans())  # True: non-ASCII sent as \\uXXXX escapes
        described = {"description": text, "amount": 100}
        return Outgoing(
            "POST",
            "/v1/charges",
            "body",
            JSON,
            json.dumps(described, ensure_ascii=ascii_only).encode(),
        )
    if place == "json number":
        form = draw(st.sampled_from(number_forms(pan)))
        return Outgoing("POST", "/v1/charges", "body", JSON, b'{"amount": ' + form.encode() + b"}")
    if place == "json duplicate key":
        doc_text = '{"memo": ' + json.dumps(text) + ', "memo": "fine"}'
        return Outgoing(
            "POST",
            "/v1/charges",
            "body",
            JSON,
            doc_text.encode(),
            code="invalid_json",
            type="invalid_request_error",
        )
    if place == "form":
        return Outgoing(
            "POST", "/v1/charges", "body", FORM, b"memo=" + percent_encoded(text, times).encode()
        )
    if place == "multipart":
        body = (
            b'--bnd\r\nContent-Disposition: form-data; name="memo"\r\n\r\n'
            + text.encode()
            + b"\r\n--bnd--\r\n"
        )
        return Outgoing(
            "POST",
            "/v1/charges",
            "content-type",
            {"content-type": "multipart/form-data; boundary=bnd"},
            body,
            **MEDIA_REFUSED,
        )
    if place == "text":
        headers = {"content-type": "text/plain"}
        return Outgoing(
            "POST", "/v1/notes", "content-type", headers, text.encode(), **MEDIA_REFUSED
        )
    if place == "query":
        return Outgoing("GET", "/v1/charges?memo=" + percent_encoded(text, times), "query")
    if place == "path":
        return Outgoing("GET", "/v1/customers/" + percent_encoded(text, times), "path")
    if place == "header":
        raw = draw(st.booleans()) and "\r" not in text and "\n" not in text
        value: str | bytes = text.encode() if raw else percent_encoded(text, times)
        return Outgoing("GET", "/v1/charges", "header:x-memo", {"x-memo": value})
    if place == "cookie":
        cookie = "session=abc; memo=" + percent_encoded(text, times)
        return Outgoing("GET", "/v1/charges", "header:cookie", {"cookie": cookie})
    credentials = base64.b64encode(text.encode() + b":").decode()
    return Outgoing(
        "GET", "/v1/charges", "header:authorization", {"authorization": "Basic " + credentials}
    )


@SHARED
@given(outgoing=pan_requests())
def test_a_pan_anywhere_is_refused_and_never_forwarded(module_edge, module_upstreams, outgoing):
    module_upstreams.reset()
    response = outgoing.send(module_edge)
    assert response.status_code == outgoing.status, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        outgoing.type,
        outgoing.code,
        outgoing.param,
    )
    assert module_upstreams.seen == []


@SHARED
@given(pan=pans())
def test_generated_cards_reach_the_vault_untouched(module_edge, module_upstreams, pan):
    module_upstreams.reset()
    body = json.dumps({"number": pan, "exp_month": 12, "exp_year": 2031, "cvc": "123"}).encode()
    response = module_edge.post("/v1/cards", content=body, headers=JSON)
    assert response.status_code == 200
    assert module_upstreams.only().content == body


BASE62 = string.ascii_letters + string.digits


def random_id(prefix: str, seed: int) -> str:
    """An id as the services make one: 24 characters drawn uniformly from base62. (Letting
    hypothesis pick the characters would favour long digit runs no real id has.)"""
    chooser = random.Random(seed)
    return prefix + "".join(chooser.choice(BASE62) for _ in range(24))


IDS = st.builds(
    random_id,
    st.sampled_from(["card_", "ch_", "cus_", "re_", "sk_test_", "pk_test_", "mkt_"]),
    st.integers(),
)
CLEAN_SCALARS = st.one_of(
    st.integers(0, 10**9),  # amounts in minor units
    st.integers(10**12, 2 * 10**12 - 1),  # epoch milliseconds: 13 digits, starting with 1
    st.integers(10**15, 2 * 10**15 - 1),  # epoch microseconds
    st.integers(10**18, 2 * 10**18 - 1),  # epoch nanoseconds
    st.integers(10**19, 10**40),  # ids of 20 digits and more
    pans().map(luhn_breaks),  # card-length numbers that fail Luhn
    st.datetimes(min_value=datetime(1970, 1, 1)).map(datetime.isoformat),
    IDS,
    st.sampled_from(["4242", "424242", "12/34", "2031", "usd", "card_declined"]),
)
KEYS = st.sampled_from(["amount", "created", "id", "source", "customer", "ref", "last4", "note"])
CLEAN_DOCS = st.dictionaries(
    KEYS, st.one_of(CLEAN_SCALARS, st.lists(CLEAN_SCALARS, max_size=3)), max_size=6
)
# In JSON a number is judged by its value, so floats of any precision pass. In text
# (forms, queries) "564635529791.9844" is digits parted by one dot, read as a grouped card.
CLEAN_JSON_DOCS = st.dictionaries(
    KEYS,
    st.one_of(CLEAN_SCALARS, st.floats(-1e12, 1e12), st.lists(CLEAN_SCALARS, max_size=3)),
    max_size=6,
)


def flat(doc: dict[str, object]) -> dict[str, str]:
    return {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in doc.items()}


@SHARED
@given(doc=CLEAN_JSON_DOCS)
def test_pan_free_json_passes_byte_for_byte(module_edge, module_upstreams, doc):
    module_upstreams.reset()
    body = json.dumps(doc).encode()
    response = module_edge.post("/v1/charges", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert module_upstreams.only().content == body
    assert response.content == body  # the echoed response passed the response scan


@SHARED
@given(doc=CLEAN_DOCS)
def test_pan_free_forms_queries_and_headers_pass_unchanged(module_edge, module_upstreams, doc):
    module_upstreams.reset()
    encoded = urlencode(flat(doc))
    headers = {"content-type": FORM["content-type"], "x-meta": encoded, "cookie": "m=" + encoded}
    response = module_edge.post("/v1/charges?" + encoded, content=encoded.encode(), headers=headers)
    assert response.status_code == 200, response.text
    seen = module_upstreams.only()
    assert seen.content == encoded.encode()
    assert seen.url.query == encoded.encode()
    assert seen.headers["x-meta"] == encoded and seen.headers["cookie"] == "m=" + encoded


def test_uuid_and_hex_ids_pass_in_headers_bodies_and_paths(edge, upstreams):
    chooser = random.Random(4)
    for _ in range(300):
        key = str(uuid.UUID(int=chooser.getrandbits(128), version=4))
        order = f"{chooser.getrandbits(128):032x}"
        body = json.dumps({"metadata": {"order": order, "trace": key.upper()}}).encode()
        upstreams.reset()
        response = edge.post(
            f"/v1/charges/{order}", content=body, headers={**JSON, "idempotency-key": key}
        )
        assert response.status_code == 200, (key, order, response.text)
        assert upstreams.only().content == body


@SHARED
@given(pan=pans(), doc=CLEAN_DOCS)
def test_a_pan_in_a_router_response_is_withheld(module_edge, module_upstreams, pan, doc):
    module_upstreams.reset()
    leak = json.dumps({**doc, "leak": pan}).encode()
    module_upstreams.replies["router"] = lambda request: httpx.Response(
        200, headers=JSON, stream=httpx.ByteStream(leak)
    )
    response = module_edge.get("/v1/charges/ch_1")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "sensitive_data_in_response"
    assert pan.encode() not in response.content
