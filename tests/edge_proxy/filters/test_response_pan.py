import logging

import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.errors import SensitiveDataInResponse, UnreadableResponse
from edge_proxy.filters.response_pan import PanInResponse
from edge_proxy.flow import EdgeResponse
from tests.edge_proxy.cards import tflow

FILTER = PanInResponse(PanDetector())
JSON = [(b"content-type", b"application/json")]


def test_a_pan_in_the_body_is_withheld_with_an_alert(caplog):
    response = EdgeResponse(200, JSON, b'{"last4": "4242", "leak": "4242424242424242"}')
    with caplog.at_level(logging.ERROR), pytest.raises(SensitiveDataInResponse) as info:
        FILTER.response(tflow(response=response))
    assert info.value.status_code == 502
    assert "ALERT" in caplog.text and "where=body" in caplog.text
    assert "4242424242424242" not in caplog.text


def test_a_pan_in_a_response_header_is_withheld():
    response = EdgeResponse(200, [(b"x-debug", b"4000 0000 0000 0002")], b"")
    with pytest.raises(SensitiveDataInResponse):
        FILTER.response(tflow(response=response))


def test_an_unreadable_response_is_withheld():
    with pytest.raises(UnreadableResponse):
        FILTER.response(tflow(response=EdgeResponse(200, JSON, b"{not json")))


def test_a_clean_response_passes():
    body = b'{"id": "ch_1", "card": "card_9", "last4": "4242", "created": 1700000000}'
    FILTER.response(tflow(response=EdgeResponse(201, JSON, body)))


def test_no_response_no_check():
    FILTER.response(tflow())
