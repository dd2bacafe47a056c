import logging

import pytest

from edge_proxy.detect import PanDetector
from edge_proxy.errors import InternalError, PanDetected
from edge_proxy.filters import Filter, router_chain, run_hook, vault_chain
from edge_proxy.filters.pan import PanInBody
from tests.edge_proxy.cards import tflow


class Recording(Filter):
    name = "recording"

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def request(self, flow):
        self.calls.append(self.name)


class Broken(Filter):
    name = "broken"

    def request(self, flow):
        raise ValueError("invalid literal for int() with base 10: '4242424242424242'")


class Refusing(Filter):
    def request(self, flow):
        raise PanDetected(param="body")


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
