import base64
import json
import logging
from urllib.parse import quote

import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.errors import InvalidForm, InvalidJson, PanDetected, UnsupportedMediaType
from edge_proxy.filters.pan import PanInBody, PanInHeaders, PanInPath, PanInQuery
from tests.edge_proxy.cards import tflow

detector = PanDetector()
PAN = "5555555555554444"


def refused(hook, flow) -> PanDetected:
    with pytest.raises(PanDetected) as info:
        hook(flow)
    return info.value


def test_pan_in_path_is_refused():
    error = refused(PanInPath(detector).requestheaders, tflow(path=f"/v1/customers/{PAN}"))
    assert (error.status_code, error.type, error.param) == (400, "sensitive_data", "path")


def test_pan_in_query_is_refused_in_any_layer():
    flow = tflow(query=b"memo=5555%25205555%25205555%25204444")
    assert refused(PanInQuery(detector).requestheaders, flow).param == "query"


def test_pan_in_a_header_names_the_header():
    flow = tflow(headers=[("X-Memo", PAN)])
    assert refused(PanInHeaders(detector).requestheaders, flow).param == "header:x-memo"


def test_pan_in_a_cookie_or_authorization_is_refused():
    flow = tflow(headers=[("cookie", f"a=1; memo={PAN}")])
    assert refused(PanInHeaders(detector).requestheaders, flow).param == "header:cookie"
    basic = "Basic " + base64.b64encode(PAN.encode() + b":").decode()
    flow = tflow(headers=[("authorization", basic)])
    assert refused(PanInHeaders(detector).requestheaders, flow).param == "header:authorization"


def test_pan_as_a_header_name_is_not_repeated_in_the_error():
    flow = tflow(headers=[("x-" + PAN, "1")])
    assert refused(PanInHeaders(detector).requestheaders, flow).param == "header"


def test_pan_in_body_is_refused():
    flow = tflow(
        headers=[("content-type", "application/json")], body=b'{"n": ' + PAN.encode() + b"}"
    )
    assert refused(PanInBody(detector).request, flow).param == "body"


def test_bodies_the_api_would_not_read_are_refused_with_the_contract_codes():
    cases = [
        ("application/json", b"{", InvalidJson),
        ("application/json", b'{"a": "1234567890123", "a": 2}', InvalidJson),
        ("application/json", b"\xef\xbb\xbf{}", InvalidJson),
        ("application/json", b'{"a": NaN}', InvalidJson),
        ("application/json", b"[1]", InvalidJson),
        ("application/x-www-form-urlencoded", b"a=%zz", InvalidForm),
        ("application/x-www-form-urlencoded", b"a=%ff", InvalidForm),
        ("text/plain", b'{"a": "x"}', UnsupportedMediaType),
        ("application/json; charset=shift_jis", b"{}", UnsupportedMediaType),
        ("application/json; charset=utf-8; x=1", b"{}", UnsupportedMediaType),
        ("multipart/form-data; boundary=b", b"--b--", UnsupportedMediaType),
        (None, b'{"a": "x"}', UnsupportedMediaType),
    ]
    for content_type, body, error in cases:
        headers: list[tuple[str, str | bytes]] = (
            [("content-type", content_type)] if content_type else []
        )
        with pytest.raises(error):
            PanInBody(detector).request(tflow(headers=headers, body=body))


def test_an_empty_body_passes_with_any_content_type():
    for content_type in ("text/plain", "application/octet-stream", "multipart/form-data"):
        PanInBody(detector).request(tflow(headers=[("content-type", content_type)]))


def test_two_content_types_are_refused():
    headers: list[tuple[str, str | bytes]] = [
        ("content-type", "application/json"),
        ("content-type", "text/plain"),
    ]
    with pytest.raises(UnsupportedMediaType):
        PanInBody(detector).request(tflow(headers=headers, body=b"{}"))


def test_a_json_value_and_form_value_are_read_with_their_field_as_context():
    grouped = "4242424 242424242"  # not a printed grouping: a card only with context
    for key, refusal in (("pan", True), ("note", False), ("card_number", True)):
        json_flow = tflow(
            headers=[("content-type", "application/json")],
            body=json.dumps({"metadata": {key: grouped}}).encode(),
        )
        form_flow = tflow(
            headers=[("content-type", "application/x-www-form-urlencoded")],
            body=f"metadata[{key}]={grouped.replace(' ', '+')}".encode(),
        )
        for flow in (json_flow, form_flow):
            if refusal:
                refused(PanInBody(detector).request, flow)
            else:
                PanInBody(detector).request(flow)


def test_separators_of_any_kind_are_refused_in_headers_cookies_query_and_path():
    for sep in (", ", ":", "|", " - ", "、", "\u00a0\u00a0"):
        text = sep.join(["4242"] * 4)
        quoted = quote(text)
        assert refused(PanInPath(detector).requestheaders, tflow(path=f"/v1/x/{quoted}"))
        query = tflow(query=f"q={quoted}".encode())
        assert refused(PanInQuery(detector).requestheaders, query)
        for name, value in (("idempotency-key", text), ("cookie", f"a=1; m={quoted}")):
            flow = tflow(headers=[(name, value)])
            assert refused(PanInHeaders(detector).requestheaders, flow)


def test_clean_requests_pass():
    flow = tflow(
        path="/v1/charges/ch_123",
        query=b"limit=10&created=1700000000000",
        headers=[("authorization", "Bearer sk_test_abc"), ("content-type", "application/json")],
        body=b'{"card": "card_1a2b3c", "amount": 1999, "currency": "usd"}',
    )
    for item in (PanInPath(detector), PanInQuery(detector), PanInHeaders(detector)):
        item.requestheaders(flow)
    PanInBody(detector).request(flow)


def test_the_log_line_has_place_and_length_but_no_digits(caplog):
    with caplog.at_level(logging.WARNING, logger="edge_proxy"):
        refused(PanInPath(detector).requestheaders, tflow(path=f"/x/{PAN}"))
    assert "where=path digits=16 request_id=req_test" in caplog.text
    assert PAN not in caplog.text and PAN[:6] not in caplog.text
