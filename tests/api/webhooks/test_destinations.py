"""A webhook goes to the address its check saw: the name is resolved once (no DNS
rebinding between the check and the connection), and the request still names its host;
an IPv6 address is judged by the IPv4 address it carries to a translator or tunnel too."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.store.models import Event
from api.webhooks.deliveries import Attempt, RetryPolicy
from api.webhooks.destinations import (
    LOCAL_NAT64,
    NAT64,
    Destination,
    DestinationRefused,
    check,
    embedded_ipv4,
    public,
)
from api.webhooks.worker import WebhookWorker

PUBLIC = "192.88.99.77"  # a global address nothing on this machine answers
real_getaddrinfo = socket.getaddrinfo


def answers(*addresses: str) -> Any:
    """A resolver that answers the next address of `addresses` each time it is asked for
    hooks.example (the last one for ever after), and the real answer for anything else."""
    given = list(addresses)

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        address = given.pop(0) if len(given) > 1 else given[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


def test_the_url_names_the_checked_address_and_keeps_the_host_and_tls_name(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", answers(PUBLIC, "127.0.0.1"))
    assert check("https://u:p@hooks.example:8443/in?x=1", allow_private=False) == Destination(
        f"https://u:p@{PUBLIC}:8443/in?x=1", host="hooks.example:8443", sni="hooks.example"
    )
    monkeypatch.setattr(socket, "getaddrinfo", answers("2001:4860::1"))
    assert check("http://hooks.example/in", allow_private=False) == Destination(
        "http://[2001:4860::1]/in", host="hooks.example", sni=None
    )


def test_one_private_address_among_the_answers_refuses_it(monkeypatch):
    def both(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in (PUBLIC, "10.1.2.3")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", both)
    with pytest.raises(DestinationRefused, match="private"):
        check("https://hooks.example/in", allow_private=False)


def test_allowed_private_destinations_are_sent_as_given():
    assert check("http://localhost:9/x", allow_private=True) == Destination("http://localhost:9/x")


class Recorder(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        Recorder.received.append(self.headers.get("host", ""))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def internal_service() -> Iterator[int]:
    """A service on 127.0.0.1 that a rebinding name would reach."""
    Recorder.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def attempt_to(url: str) -> Attempt:
    event = Event(
        id="evt_rebind",
        marketplace_id="mkt_rebind",
        type="charge.succeeded",
        data={"object": {"id": "ch_rebind", "object": "charge"}},
        created=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    return Attempt("wd_rebind", "we_rebind", url, 1, None, event, True)


def worker(allow_private: bool) -> WebhookWorker:
    never_used: Any = None  # _post reads no database
    return WebhookWorker(
        never_used, b"s" * 32, False, RetryPolicy(), timeout=0.5, allow_private=allow_private
    )


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_it(
    monkeypatch, internal_service
):
    # The check is answered a public address; any later lookup, 127.0.0.1.
    monkeypatch.setattr(socket, "getaddrinfo", answers(PUBLIC, "127.0.0.1"))
    ok, status, error = worker(allow_private=False)._post(
        attempt_to(f"http://hooks.example:{internal_service}/in")
    )
    assert not ok and status is None and error is not None
    assert Recorder.received == []


def test_the_request_names_the_merchants_host(monkeypatch, internal_service):
    # Allowed private (a local stack): sent as given, Host as the URL says.
    monkeypatch.setattr(socket, "getaddrinfo", answers("127.0.0.1"))
    ok, status, _ = worker(allow_private=True)._post(
        attempt_to(f"http://hooks.example:{internal_service}/in")
    )
    assert ok and status == 200
    assert Recorder.received == [f"hooks.example:{internal_service}"]


# -- IPv4 addresses carried in IPv6 ones -------------------------------------------------------

V4 = st.integers(0, 2**32 - 1).map(IPv4Address)  # every IPv4 address, reserved ones too
BITS_16 = st.integers(0, 0xFFFF)


def nat64(v4: IPv4Address) -> IPv6Address:
    return IPv6Address(int(NAT64.network_address) | int(v4))


def sixtofour(v4: IPv4Address, subnet: int, interface: int) -> IPv6Address:
    return IPv6Address((0x2002 << 112) | (int(v4) << 80) | (subnet << 64) | interface)


def teredo(server: IPv4Address, client: IPv4Address, flags: int, port: int) -> IPv6Address:
    """RFC 4380: the client's address and port are stored inverted."""
    value = (0x20010000 << 96) | (int(server) << 64) | (flags << 48) | ((port ^ 0xFFFF) << 32)
    return IPv6Address(value | (int(client) ^ 0xFFFFFFFF))


def carriers(v4: IPv4Address, data: st.DataObject) -> dict[str, IPv6Address]:
    """`v4` in each form an IPv6 address carries it to a translator or tunnel."""
    return {
        "nat64": nat64(v4),
        "6to4": sixtofour(v4, data.draw(BITS_16), data.draw(st.integers(0, 2**64 - 1))),
        "teredo": teredo(data.draw(V4), v4, data.draw(BITS_16), data.draw(BITS_16)),
        "compatible": IPv6Address(int(v4)),
        "mapped": IPv6Address((0xFFFF << 32) | int(v4)),
        "translated": IPv6Address((0xFFFF << 48) | int(v4)),
    }


@given(V4, st.data())
def test_every_carrier_reads_the_ipv4_address_it_carries(v4: IPv4Address, data: st.DataObject):
    for kind, address in carriers(v4, data).items():
        assert v4 in embedded_ipv4(address), (kind, address)


@given(V4, st.data())
def test_an_address_carrying_a_private_ipv4_one_is_never_public(
    v4: IPv4Address, data: st.DataObject
):
    if public(v4):
        return
    for kind, address in carriers(v4, data).items():
        assert not public(address), (kind, address, v4)


@given(V4.filter(public), st.data())
def test_nat64_of_a_public_ipv4_address_stays_public_and_tunnels_never_are(
    v4: IPv4Address, data: st.DataObject
):
    assert public(nat64(v4))
    # 6to4 and Teredo are refused whole, on every Python (releases disagree on them).
    assert not public(sixtofour(v4, data.draw(BITS_16), data.draw(st.integers(0, 2**64 - 1))))
    assert not public(teredo(data.draw(V4), v4, data.draw(BITS_16), data.draw(BITS_16)))


@given(st.integers(0, 2**80 - 1))
def test_the_local_use_nat64_prefix_is_never_public(suffix: int):
    assert not public(IPv6Address(int(LOCAL_NAT64.network_address) | suffix))


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # 127.0.0.1 behind NAT64
        "64:ff9b::a9fe:a9fe",  # 169.254.169.254, the metadata service
        "64:ff9b::a00:1",
        "64:ff9b:1::808:808",
        "2002:a9fe:a9fe::1",
        "::7f00:1",
        "::ffff:0:7f00:1",
        "::ffff:127.0.0.1",
        "2001:0:c058:634d:0:ffaf:80ff:fffe",  # Teredo, client 127.0.0.1
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_a_name_answering_a_carried_private_address_is_refused(monkeypatch, address: str):
    monkeypatch.setattr(socket, "getaddrinfo", answers(address))
    with pytest.raises(DestinationRefused, match="private"):
        check("https://hooks.example/in", allow_private=False)


def test_a_nat64_address_of_a_public_one_is_connected_to(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", answers("64:ff9b::c058:634d"))
    assert check("https://hooks.example/in", allow_private=False).url == (
        "https://[64:ff9b::c058:634d]/in"
    )


def test_live_mode_sends_only_to_https(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", answers(PUBLIC))
    with pytest.raises(DestinationRefused, match="https"):
        check("http://hooks.example/in", allow_private=True, https_only=True)
    assert check("https://hooks.example/in", allow_private=False, https_only=True).sni == (
        "hooks.example"
    )
