"""Slow clients (slowloris) against the card path, through a running stack: connections
that send nothing, drip a head or a body a byte at a time, or declare a Content-Length
longer than the body they send, at the edge (the one public door) and at the vault's own
port (its callers: the edge and the API stacks, inside the private network).

What was found, before the fixes these tests keep: the vault (uvicorn) timed no request at
all, so each such connection was held for ever: 20,000 of them (its file limit) took it
from 96 to 475 MiB and every tokenise through the edge was refused 502. The edge cut a
request at 30 s (EDGE_READ_TIMEOUT) but let one client address hold every connection of a
worker (1,100 idle or slow connections from one address, and honest shoppers were refused
503). Now the vault answers a head not whole in VAULT_HEAD_TIMEOUT 408 and a body not whole
in VAULT_BODY_TIMEOUT 408, in the error envelope, and closes; the edge cuts a head at
EDGE_HEAD_TIMEOUT and gives one address at most a quarter of its connections. The
deadlines are short here (settings through the environment) to keep the file quick.
"""

from __future__ import annotations

import json
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx
import pytest

from strongroom.stack import PORT_OF
from strongroom.supervisor import free_ports
from tests.attack.conftest import CARD, Answer, parse_answers, request, tokenise
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

VAULT_HEAD, VAULT_BODY = 5.0, 2.0  # the head's: not under the callers' 4 s pool idle
EDGE_HEAD, EDGE_READ = 1.5, 5.0
EDGE_CONNECTIONS = 64  # a quarter of them, 16, from one address
SLOW_ENV = {
    "VAULT_HEAD_TIMEOUT": str(VAULT_HEAD),
    "VAULT_BODY_TIMEOUT": str(VAULT_BODY),
    "EDGE_HEAD_TIMEOUT": str(EDGE_HEAD),
    "EDGE_READ_TIMEOUT": str(EDGE_READ),
    "EDGE_MAX_CONNECTIONS": str(EDGE_CONNECTIONS),
}
MARGIN = 8.0  # seconds past a deadline by which its answer must have come
ATTACKER = "127.0.0.2"  # another loopback address than the shoppers' 127.0.0.1
JSON = "Content-Type: application/json"
CARD_JSON = json.dumps(CARD).encode()


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with short deadlines (its processes inherit the environment they start in)
    and every service's metrics listener."""
    metrics = dict(zip(PORT_OF, free_ports(len(PORT_OF)), strict=True))
    with pytest.MonkeyPatch.context() as env:  # restored once the module is done
        for name, value in SLOW_ENV.items():
            env.setenv(name, value)
        yield from start_stack(
            tmp_path_factory.mktemp("slow"),
            router_test_rate_per_key=0,
            router_test_rate=0,
            metrics_ports=metrics,
        )


def connect(
    port: int, source: str = ATTACKER, timeout: float = VAULT_HEAD + MARGIN
) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout, source_address=(source, 0))


def rest_of(sock: socket.socket, received: bytes = b"") -> bytes:
    """Read until the peer closes; a socket timeout (the peer holds on) fails the test."""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def drip(sock: socket.socket, data: bytes, every: float = 0.2) -> tuple[bytes, float]:
    """Send `data` a byte every `every` seconds until the peer answers or closes; all it
    sent until it closed, and when it began to answer (seconds from the first byte)."""
    started = time.monotonic()
    timeout = sock.gettimeout()
    sock.settimeout(every)
    try:
        for i in range(len(data)):
            try:
                sock.sendall(data[i : i + 1])
                first = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                first = b""
            seconds = time.monotonic() - started
            sock.settimeout(timeout)
            return rest_of(sock, first), seconds
    finally:
        sock.settimeout(timeout)
    raise AssertionError(f"no answer while {len(data)} bytes were dripped")


def waited(sock: socket.socket) -> tuple[bytes, float]:
    """What the peer sends until it closes, and when it closed."""
    started = time.monotonic()
    received = rest_of(sock)
    return received, time.monotonic() - started


def only_answer(received: bytes) -> Answer:
    answers = parse_answers(received)
    assert len(answers) == 1, received[:300]
    return answers[0]


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def metric(port: int, name: str, **labels: str) -> float:
    """A counter's value on a metrics listener, 0 if it has no such series yet."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def metrics_port(stack: Stack, service: str) -> int:
    assert stack.opts.metrics_ports is not None
    return stack.opts.metrics_ports[service]


def short_body(key: str, path: str = "/v1/cards", missing: int = 10) -> bytes:
    """A request whose Content-Length is `missing` bytes longer than the body it sends."""
    whole = request(key, CARD_JSON, JSON, target=path)
    return re.sub(
        rb"Content-Length: \d+", b"Content-Length: %d" % (len(CARD_JSON) + missing), whole
    )


def checkout(stack: Stack) -> None:
    """An honest shopper tokenises through the edge and the merchant charges the token."""
    token = tokenise(stack, stack.keys.pk_test)
    with stack.client(stack.keys.sk_test) as merchant:
        charged = merchant.post(
            "/v1/charges", json={"source": token, "amount": 1250, "currency": "usd"}
        )
    assert charged.status_code == 201 and charged.json()["paid"], charged.text


# --- the vault's own port ---------------------------------------------------------------


def test_a_vault_connection_that_sends_nothing_or_drips_its_head_is_cut_at_the_deadline(
    slow: Stack,
) -> None:
    """Idle: closed without a word. A head dripped, or the rest of a body its route never
    read dripped after the answer (each byte used to cancel uvicorn's keep-alive timer):
    408 request_timeout and closed."""
    port = slow.opts.ports.vault
    head = b"POST /v1/cards HTTP/1.1\r\nHost: vault\r\nX-Slow: " + b"a" * 200
    unread = request(slow.keys.pk_test, b"", method="GET", target="/healthz")
    unread = unread.replace(b"Content-Length: 0", b"Content-Length: 500")
    heads = {"route": "unmatched", "method": "-", "status": "408"}  # no route: no head
    before = metric(metrics_port(slow, "vault"), "http_requests_total", **heads)

    def healthz_then_drip() -> tuple[bytes, float]:
        sock = connect(port)
        sock.sendall(unread)
        answered = b""
        while not parse_answers(answered) or not answered.endswith(b"}"):  # its whole 200
            answered += sock.recv(65536)
        assert parse_answers(answered)[0].status == 200
        time.sleep(0.5)
        return drip(sock, b"x" * 500)

    (idle, idle_s), (dripped, dripped_s), (after, after_s) = at_once(
        lambda: waited(connect(port)),
        lambda: drip(connect(port), head),
        healthz_then_drip,
    )
    assert idle == b"" and idle_s < VAULT_HEAD + MARGIN
    for received, seconds in ((dripped, dripped_s), (after, after_s)):
        answer = only_answer(received)
        assert (answer.status, answer.code) == (408, "request_timeout"), answer
        assert seconds < VAULT_HEAD + MARGIN
    assert metric(metrics_port(slow, "vault"), "http_requests_total", **heads) == before + 2


def test_a_body_short_or_dripped_at_the_vault_is_408_and_closed_at_the_deadline(
    slow: Stack,
) -> None:
    """A Content-Length longer than the body sent, on each route that takes a body from
    the edge or an API stack; and a body dripped a byte every 0.1 s (7 s of it): the
    deadline is total, each byte that comes does not extend it."""
    vault = metrics_port(slow, "vault")
    paths = ["/v1/cards", "/v1/tokens", "/internal/v1/charges"]
    before = [metric(vault, "http_requests_total", route=p, status="408") for p in paths]

    def short(path: str) -> tuple[bytes, float]:
        # The API stack's credential on its route: a wrong one is a 401 before any body.
        key = slow.secrets.vault_test_credential if "internal" in path else slow.keys.pk_test
        sock = connect(slow.opts.ports.vault)
        sock.sendall(short_body(key, path))
        return waited(sock)  # until the vault closes

    def dripped() -> tuple[bytes, float]:
        sock = connect(slow.opts.ports.vault)
        whole = request(slow.keys.pk_test, CARD_JSON, JSON, target="/v1/cards")
        sock.sendall(whole[: -len(CARD_JSON)])
        return drip(sock, CARD_JSON, every=0.1)

    for received, seconds in at_once(*(partial(short, p) for p in paths), dripped):
        answer = only_answer(received)
        assert (answer.status, answer.code) == (408, "request_timeout"), answer
        assert b"4242" not in answer.body
        assert seconds < VAULT_BODY + MARGIN
    after = [metric(vault, "http_requests_total", route=p, status="408") for p in paths]
    assert after == [before[0] + 2, before[1] + 1, before[2] + 1]


def test_a_checkout_succeeds_while_slow_connections_hold_the_vault_and_all_are_cut(
    slow: Stack,
) -> None:
    port = slow.opts.ports.vault
    key = slow.keys.pk_test
    kinds = [b"", b"POST /v1/cards HTTP/1.1\r\nHost: vault\r\n", short_body(key)]
    held = []
    for i in range(300):
        sock = connect(port)
        sock.sendall(kinds[i % 3])
        held.append(sock)
    started = time.monotonic()
    checkout(slow)
    for sock in held:
        rest_of(sock)  # each closed by the vault, or the socket's timeout fails the test
        sock.close()
    assert time.monotonic() - started < VAULT_HEAD + MARGIN


# --- the edge ---------------------------------------------------------------------------


def test_a_head_dripped_to_the_edge_is_408_at_the_head_deadline(slow: Stack) -> None:
    before = metric(metrics_port(slow, "edge"), "edge_blocks_total", reason="request_timeout")
    sock = connect(slow.opts.ports.edge)
    received, seconds = drip(sock, b"POST /v1/cards HTTP/1.1\r\nHost: api.localhost\r\n" * 20)
    answer = only_answer(received)
    assert (answer.status, answer.code) == (408, "request_timeout"), answer
    assert seconds < EDGE_READ  # the head's own deadline cut it, not the whole request's
    after = metric(metrics_port(slow, "edge"), "edge_blocks_total", reason="request_timeout")
    assert after == before + 1


def test_a_card_body_short_or_dripped_at_the_edge_is_408_at_the_read_deadline(
    slow: Stack,
) -> None:
    """And never reaches the vault: the edge reads a card body whole before it forwards
    it, so a slow shopper holds no connection there (its count of card requests stays)."""
    vault = metrics_port(slow, "vault")
    before = metric(vault, "http_requests_total", route="/v1/cards")
    whole = request(slow.keys.pk_test, CARD_JSON, JSON, target="/v1/cards")

    def dripped() -> tuple[bytes, float]:
        sock = connect(slow.opts.ports.edge)
        sock.sendall(whole[: -len(CARD_JSON)])
        return drip(sock, CARD_JSON * 3, every=0.1)

    def short() -> tuple[bytes, float]:
        sock = connect(slow.opts.ports.edge)
        sock.sendall(short_body(slow.keys.pk_test))
        return waited(sock)

    for received, seconds in at_once(dripped, short):
        answer = only_answer(received)
        assert (answer.status, answer.code) == (408, "request_timeout"), answer
        assert seconds < EDGE_READ + MARGIN
    assert metric(vault, "http_requests_total", route="/v1/cards") == before


def test_one_address_holds_at_most_a_quarter_of_the_edges_connections(slow: Stack) -> None:
    """An attacker opens as many connections as the edge takes and sends nothing (each
    would be held EDGE_KEEPALIVE_TIMEOUT, 15 s): a quarter are taken, the rest answered
    503 edge_busy at once, and shoppers from other addresses still check out."""
    port = slow.opts.ports.edge
    held = [connect(port, timeout=0.5) for _ in range(EDGE_CONNECTIONS)]
    time.sleep(1.0)
    answered, _, _ = select.select(held, [], [], 0)  # the refused: answered at once
    refused = [parse_answers(sock.recv(65536))[0] for sock in answered]
    assert len(held) - len(refused) == EDGE_CONNECTIONS // 4
    assert {(a.status, a.code) for a in refused} == {(503, "edge_busy")}
    checkout(slow)
    for sock in held:
        sock.close()
