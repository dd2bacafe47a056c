import logging

import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.detect.verdict import CLEAN, NEEDS_EXACT
from edge_proxy.errors import InternalError, PanDetected
from edge_proxy.filters import Filter, router_chain, run_hook, vault_chain
from edge_proxy.filters.base import ANYWHERE, Room
from edge_proxy.filters.pan import PanInBody
from tests.edge_proxy.cards import tflow


class Recording(Filter):
    name = "recording"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow, room=ANYWHERE):
        self.calls.append(self.name)
        return CLEAN


class Broken(Filter):
    name = "broken"

    def request(self, flow, room=ANYWHERE):
        raise ValueError("invalid literal for int() with base 10: '4242424242424242'")


class Refusing(Filter):
    def request(self, flow, room=ANYWHERE):
        raise PanDetected(param="body")


class Roomy(Filter):
    """Settles its check only with no byte limit (as a decoder or the exact path does)."""

    name = "roomy"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow, room=ANYWHERE):
        self.calls.append(f"{self.name} {room.max_bytes}")
        return CLEAN if room.max_bytes is None else NEEDS_EXACT


def test_hooks_run_in_order_and_default_hooks_do_nothing():
    calls: list[str] = []
    first, second = Recording(calls), Recording(calls)
    second.name = "second"
    run_hook([first, Filter(), second], "request", tflow())
    run_hook([first, second], "response", tflow())
    assert calls == ["recording", "second"]


def test_a_refusal_stops_the_chain():
    calls: list[str] = []
    with pytest.raises(PanDetected):
        run_hook([Refusing(), Recording(calls)], "request", tflow())
    assert calls == []


def test_a_broken_filter_fails_closed_and_logs_no_message(caplog):
    calls: list[str] = []
    with caplog.at_level(logging.ERROR), pytest.raises(InternalError):
        run_hook([Broken(), Recording(calls)], "request", tflow())
    assert calls == []
    assert "ValueError" in caplog.text
    assert "4242424242424242" not in caplog.text


def test_the_router_chain_scans_the_body_and_the_vault_chain_does_not():
    detector = PanDetector()
    assert any(isinstance(f, PanInBody) for f in router_chain(1024, 4096, detector))
    assert not any(isinstance(f, PanInBody) for f in vault_chain(1024, detector))
    flow = tflow(body=b'{"number": "4242424242424242"}')
    flow.request.headers = [(b"content-type", b"application/json")]
    run_hook(vault_chain(1024, detector), "requestheaders", flow)
    run_hook(vault_chain(1024, detector), "request", flow)
    with pytest.raises(PanDetected):
        run_hook(router_chain(1024, 4096, detector), "request", flow)


def test_a_check_that_needs_more_room_stops_the_chain_and_says_so():
    calls: list[str] = []
    chain = [Recording(calls), Roomy(calls), Recording(calls)]
    assert run_hook(chain, "request", tflow(), Room(16)) is NEEDS_EXACT
    assert calls == ["recording", "roomy 16"]  # the filters after it read what it settles
    assert run_hook(chain, "request", tflow()) is CLEAN
    assert calls[2:] == ["recording", "roomy None", "recording"]


def test_the_router_chain_leaves_a_large_body_it_cannot_clear_to_a_roomier_place():
    detector = PanDetector()
    digits = b'{"memo": "' + b"3 " * 10_000 + b'"}'  # PAN-free, but only the exact path says so
    flow = tflow(body=digits, headers=[("content-type", "application/json")])
    chain = router_chain(1 << 20, 4 << 20, detector)
    assert run_hook(chain, "request", flow, Room(16 << 10)) is NEEDS_EXACT
    assert run_hook(chain, "request", flow) is CLEAN
