"""Who the client is behind the load balancer: the last X-Forwarded-For entry of a
connection from EDGE_TRUSTED_PROXIES, the socket's peer otherwise (and for the load
balancer's own requests, which carry none); a request from the load balancer whose last
entry is no address is refused, and nothing is forwarded."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge_proxy.config import Settings
from edge_proxy.wire.forwarded import client_of, proxy_networks
from edge_proxy.wire.parse import NO_BODY, Malformed, RequestHead
from edge_proxy.wire.reader import RequestReader
from edge_proxy.wire.server import Capacity, Limits
from tests.edge_proxy.conftest import ROUTER_URL, VAULT_URL, Upstreams, running_edge

LB = proxy_networks("10.0.128.0/20, 10.0.144.0/20")


def head(*forwarded: bytes) -> RequestHead:
    raw = b"GET /v1/charges HTTP/1.1\r\nHost: api.localhost\r\n"
    raw += b"".join(b"X-Forwarded-For: " + value + b"\r\n" for value in forwarded)
    reader = RequestReader(4096, 0)
    assert reader.feed(raw + b"\r\n") is not None and reader.head is not None
    return reader.head


def test_the_load_balancers_last_entry_names_the_client() -> None:
    assert client_of("10.0.130.7", head(b"203.0.113.7"), LB) == "203.0.113.7"
    # What the client wrote comes first; the load balancer appended the last one.
    assert client_of("10.0.130.7", head(b"198.51.100.1, 203.0.113.7"), LB) == "203.0.113.7"
    assert client_of("10.0.150.1", head(b"x", b"1.1.1.1,2001:db8::7"), LB) == "2001:db8::7"
    assert client_of("::ffff:10.0.130.7", head(b"203.0.113.7"), LB) == "203.0.113.7"


def test_the_load_balancers_own_requests_are_its_own() -> None:
    # Its health checks carry no X-Forwarded-For: answered, as from the load balancer.
    assert client_of("10.0.130.7", head(), LB) == "10.0.130.7"


def test_anyone_else_is_their_own_address_whatever_they_write() -> None:
    assert client_of("198.51.100.1", head(b"203.0.113.7"), LB) == "198.51.100.1"
    assert client_of("10.0.0.5", head(b"203.0.113.7"), LB) == "10.0.0.5"  # a private subnet
    assert client_of("10.0.130.7", head(b"203.0.113.7"), ()) == "10.0.130.7"  # none trusted
    assert client_of(None, head(b"203.0.113.7"), LB) is None


@pytest.mark.parametrize(
    "forwarded",
    [
        (b"",),
        (b"203.0.113.7, ",),
        (b"203.0.113.7:443",),
        (b"unknown",),
        (b"fe80::1%eth0",),
        (b"203.0.113.7", b"nonsense"),
    ],
)
def test_an_unreadable_client_from_the_load_balancer_is_refused(
    forwarded: tuple[bytes, ...],
) -> None:
    with pytest.raises(Malformed):
        client_of("10.0.130.7", head(*forwarded), LB)


def test_digits_of_other_scripts_are_no_address() -> None:
    # The parser takes obs-text in a header value; this reader does not read it as digits.
    arabic_seven = "203.0.113.\u0667".encode()
    given_head = RequestHead("GET", b"/", "1.1", [(b"x-forwarded-for", arabic_seven)], NO_BODY)
    with pytest.raises(Malformed):
        client_of("10.0.130.7", given_head, LB)


addresses = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str)
)  # fmt: skip
written = st.lists(  # visible ASCII and spaces: what a header value may hold
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=","), max_size=20
    )
)


@given(written, addresses)
def test_whatever_the_client_wrote_the_appended_address_is_read(
    theirs: list[str], appended: str
) -> None:
    value = ", ".join([*theirs, appended]).encode()
    assert client_of("10.0.130.7", head(value), LB) == str(ipaddress.ip_address(appended))


def test_a_network_that_is_not_one_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="not a network"):
        Settings(vault_url=VAULT_URL, router_url=ROUTER_URL, trusted_proxies="10.0.0.0/8,lb")


def test_the_vault_and_router_are_told_the_client_the_load_balancer_names() -> None:
    upstreams = Upstreams()
    with running_edge(upstreams, trusted_proxies="127.0.0.0/8") as edge:
        answer = edge.get(
            "/v1/charges",
            headers={"host": "api.localhost", "x-forwarded-for": "198.51.100.9, 203.0.113.7"},
        )
        assert answer.status_code == 200
        assert upstreams.only().headers["x-forwarded-for"] == "203.0.113.7"
        upstreams.reset()
        refused = edge.get(
            "/v1/charges", headers={"host": "api.localhost", "x-forwarded-for": "203.0.113.7:1"}
        )
        assert refused.status_code == 400
        assert refused.json()["error"]["type"] == "invalid_request_error"
        assert upstreams.seen == []
        # Its health check, from its own address with no X-Forwarded-For, is answered.
        assert edge.get("/healthz", headers={"host": "10.0.130.7:8080"}).status_code == 200


def test_the_load_balancers_connections_are_not_capped_as_one_client() -> None:
    limits = Limits(max_connections=10, max_client_connections=2, trusted_proxies=LB)
    limits = replace(limits, max_buffered_bytes=1000, max_client_buffered_bytes=100)
    capacity = Capacity(limits)
    assert all(capacity.admit("10.0.130.7") for _ in range(5))  # the load balancer
    assert capacity.admit("198.51.100.1") and capacity.admit("198.51.100.1")
    assert not capacity.admit("198.51.100.1")  # anyone else: their share
    assert capacity.hold("10.0.130.7", 0, 500)
    assert not capacity.hold("198.51.100.1", 0, 101)
    while capacity.connections < 10:  # the cap in all holds for it too
        assert capacity.admit("10.0.130.7")
    assert not capacity.admit("10.0.130.7")
