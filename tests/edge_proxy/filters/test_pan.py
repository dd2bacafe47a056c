import base64
import logging

import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.errors import BodyMalformed, PanDetected, UnsupportedCharset
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


def test_unreadable_bodies_are_refused_with_their_reason():
    flow = tflow(headers=[("content-type", "application/json")], body=b"{")
    with pytest.raises(BodyMalformed):
        PanInBody(detector).request(flow)
    flow = tflow(headers=[("content-type", "text/plain; charset=klingon")], body=b"x")
    with pytest.raises(UnsupportedCharset):
        PanInBody(detector).request(flow)


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
