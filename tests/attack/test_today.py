"""Today's changes under attack: whose X-Forwarded-For the vault believes (the edge's, with
its credential in Strongroom-Edge-Credential), and the edge that adds that credential.

Two targets. An edge run here, in this process, in front of a recording upstream: what the
edge forwards is read header by header, for every way a client might smuggle the
credential or a client address of its own past it. And a whole stack of its own (its
vault paces two tokenisations a minute per client address), where the pace must hold
against every header a caller may send, through the edge or straight to the vault's port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from edge_proxy.__main__ import run
from edge_proxy.config import Settings
from strongroom.marketplaces import MarketplaceKeys, create_marketplace
from strongroom.supervisor import free_ports
from tests.attack.conftest import CARD, exchange, parse_answers, request
from tests.e2e.conftest import Stack, start_stack

pytestmark = pytest.mark.e2e

CREDENTIAL = "edge-credential-for-today-0123456789"
SMUGGLED = "client-made-credential-0123456789"
HEADER = "Strongroom-Edge-Credential"


# --- an edge in front of a recording upstream ----------------------------------------------


@dataclass
class Recorder:
    """Every request an upstream received: (path, its header lines as (name, value))."""

    seen: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def recording_server(recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            size = int(self.headers.get("content-length") or 0)
            self.rfile.read(size)
            with recorder.lock:
                recorder.seen.append((self.path, list(self.headers.items())))
            body = b'{"id": "card_x", "object": "card"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@dataclass
class RecordedEdge:
    port: int
    recorder: Recorder
    access: list[str]

    def send(self, data: bytes) -> list[tuple[str, list[tuple[str, str]]]]:
        """Send raw bytes to the edge; what the upstream received for them."""
        with self.recorder.lock:
            self.recorder.seen.clear()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := s.recv(65536):
                received += chunk
        self.answers = parse_answers(received)
        with self.recorder.lock:
            return list(self.recorder.seen)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordedEdge]:
    recorder = Recorder()
    upstream = recording_server(recorder)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{upstream.server_address[1]}"
    (port,) = free_ports(1)
    js = tmp_path_factory.mktemp("js")
    settings = Settings.model_validate(
        {
            "port": port,
            "vault_url": url,
            "router_url": url,
            "vault_credential": CREDENTIAL,
            "js_dir": str(js),
        }
    )
    access: list[str] = []
    logging.getLogger("edge_proxy.access").setLevel(logging.INFO)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(run(settings, stop, access_sink=access.append),)
    )
    thread.start()
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            threading.Event().wait(0.05)
    try:
        yield RecordedEdge(port, recorder, access)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        upstream.shutdown()


def raw(
    *headers: str, target: str = "/v1/cards", version: str = "HTTP/1.1", body: bytes = b"{}"
) -> bytes:
    lines = [f"POST {target} {version}", "Host: api.localhost", "Content-Type: application/json"]
    lines += [*headers, f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def named(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n.lower() == name.lower()]


# Ways a client might send its own credential or client address through the edge.
SMUGGLING = {
    "plain": [f"{HEADER}: {SMUGGLED}", "X-Forwarded-For: 10.6.6.6"],
    "lower case": [f"{HEADER.lower()}: {SMUGGLED}", "x-forwarded-for: 10.6.6.6"],
    "upper case": [f"{HEADER.upper()}: {SMUGGLED}", "X-FORWARDED-FOR: 10.6.6.6"],
    "twice": [f"{HEADER}: {SMUGGLED}", f"{HEADER}: {SMUGGLED}"],
    "trailing whitespace in the value": [f"{HEADER}: {SMUGGLED}   \t"],
    "empty": [f"{HEADER}:"],
    "named in Connection": [f"Connection: {HEADER}, X-Forwarded-For", f"{HEADER}: {SMUGGLED}"],
    "very long": [f"{HEADER}: {'A' * 6000}"],
    "with X-Real-IP and Forwarded": [
        "X-Real-IP: 10.6.6.6",
        "Forwarded: for=10.6.6.6",
        "X-Forwarded-For: 10.6.6.6, 10.7.7.7",
        "X-Forwarded-For: 10.8.8.8",
    ],
}


@pytest.mark.parametrize("headers", SMUGGLING.values(), ids=SMUGGLING.keys())
@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_the_vault_gets_the_edges_credential_and_address_alone(
    edge: RecordedEdge, headers: list[str], version: str
) -> None:
    seen = edge.send(raw(*headers, version=version))
    assert [a.status for a in edge.answers] == [200]
    ((path, got),) = seen
    assert path == "/v1/cards"
    assert named(got, HEADER) == [CREDENTIAL]
    assert named(got, "x-forwarded-for") == ["127.0.0.1"]
    assert named(got, "x-real-ip") == named(got, "forwarded") == []


@pytest.mark.parametrize("headers", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_the_router_never_gets_a_credential(edge: RecordedEdge, headers: list[str]) -> None:
    seen = edge.send(raw(*headers, target="/v1/charges"))
    assert [a.status for a in edge.answers] == [200]
    ((path, got),) = seen
    assert path == "/v1/charges"
    assert named(got, HEADER) == []
    assert named(got, "x-forwarded-for") == ["127.0.0.1"]


def test_a_header_named_with_underscores_is_no_credential_to_the_vault(
    edge: RecordedEdge,
) -> None:
    """`Strongroom_Edge_Credential` passes the edge (it is another name), but Starlette
    does not read it as Strongroom-Edge-Credential (the pace tests below hold the vault to
    that); the edge's own is still the only one by the real name."""
    seen = edge.send(raw("Strongroom_Edge_Credential: " + SMUGGLED, "X_Forwarded_For: 10.6.6.6"))
    ((_, got),) = seen
    assert named(got, HEADER) == [CREDENTIAL]
    assert named(got, "x-forwarded-for") == ["127.0.0.1"]


@pytest.mark.parametrize(
    "headers",
    [
        ["X-Other: a", f" {HEADER}: {SMUGGLED}"],  # obs-fold of a continuation line
        [f"{HEADER} : {SMUGGLED}"],  # whitespace before the colon
        [f"{HEADER}\t: {SMUGGLED}"],
        [f" {HEADER}: {SMUGGLED}"],  # the first header line folded
        [f"{HEADER}: a\x00b"],  # NUL in the value
        [f"{HEADER}: a\rb"],  # a bare CR
        [f"X-Forwarded-For: 10.6.6.6\n{HEADER}: {SMUGGLED}"],  # a bare LF between lines
    ],
    ids=["folded", "space before colon", "tab before colon", "leading space", "NUL", "CR", "LF"],
)
def test_a_malformed_header_is_refused_not_forwarded(
    edge: RecordedEdge, headers: list[str]
) -> None:
    seen = edge.send(raw(*headers))
    assert seen == [], "a malformed head reached the upstream"
    assert [a.status for a in edge.answers] == [400]


def test_chunked_trailers_add_no_header_upstream(edge: RecordedEdge) -> None:
    head = (
        "POST /v1/cards HTTP/1.1\r\nHost: api.localhost\r\nContent-Type: application/json\r\n"
        f"Transfer-Encoding: chunked\r\nTrailer: {HEADER}, X-Forwarded-For\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    body = f"2\r\n{{}}\r\n0\r\n{HEADER}: {SMUGGLED}\r\nX-Forwarded-For: 10.6.6.6\r\n\r\n".encode()
    seen = edge.send(head + body)
    for _, got in seen:
        assert named(got, HEADER) == [CREDENTIAL]
        assert named(got, "x-forwarded-for") == ["127.0.0.1"]
        assert named(got, "trailer") == []


def test_pipelined_requests_each_carry_the_edges_credential_alone(edge: RecordedEdge) -> None:
    first = raw().replace(b"Connection: close\r\n", b"")
    second = raw(f"{HEADER}: {SMUGGLED}", "X-Forwarded-For: 10.6.6.6")
    seen = edge.send(first + second)
    assert [a.status for a in edge.answers] == [200, 200]
    assert [named(got, HEADER) for _, got in seen] == [[CREDENTIAL], [CREDENTIAL]]
    assert [named(got, "x-forwarded-for") for _, got in seen] == [["127.0.0.1"]] * 2


def test_a_request_hidden_in_a_body_by_ambiguous_framing_is_refused(edge: RecordedEdge) -> None:
    """Content-Length and Transfer-Encoding both: the request in the chunked body, carrying
    the client's credential and address, must not reach the vault as a request."""
    hidden = raw(f"{HEADER}: {SMUGGLED}", "X-Forwarded-For: 10.6.6.6")
    chunked = b"0\r\n\r\n" + hidden
    head = (
        "POST /v1/cards HTTP/1.1\r\nHost: api.localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(chunked)}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    seen = edge.send(head + chunked)
    assert seen == []
    assert [a.status for a in edge.answers] == [400]


def test_the_credential_is_in_no_access_log_line_nor_answer(edge: RecordedEdge) -> None:
    edge.send(raw(f"{HEADER}: {SMUGGLED}"))
    edge.send(raw(f"{HEADER} : {SMUGGLED}"))  # refused: 400
    lines = "\n".join(edge.access)
    assert edge.access
    assert CREDENTIAL not in lines and SMUGGLED not in lines
    assert all(CREDENTIAL.encode() not in a.body for a in edge.answers)


# --- a stack whose vault paces two tokenisations a minute per client ------------------------

PACED = 2


@pytest.fixture(scope="module")
def paced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    saved = os.environ.get("VAULT_TOKENISE_PER_CLIENT_MINUTE")
    os.environ["VAULT_TOKENISE_PER_CLIENT_MINUTE"] = str(PACED)
    try:
        stacks = start_stack(
            tmp_path_factory.mktemp("paced"), router_test_rate_per_key=0, router_test_rate=0
        )
        stack = next(stacks)
    finally:
        if saved is None:
            del os.environ["VAULT_TOKENISE_PER_CLIENT_MINUTE"]
        else:
            os.environ["VAULT_TOKENISE_PER_CLIENT_MINUTE"] = saved
    yield stack
    next(stacks, None)


@pytest.fixture(scope="module")
def paced_shop(paced: Stack) -> MarketplaceKeys:
    return create_marketplace(paced.opts, paced.secrets, "guesser's shop")


def vault_post(stack: Stack, key: str, *headers: tuple[str, str]) -> int:
    """POST /v1/cards straight to the vault's port, as any local process may."""
    response = httpx.post(
        f"http://127.0.0.1:{stack.opts.ports.vault}/v1/cards",
        headers=[("authorization", f"Bearer {key}"), *headers],
        json=CARD,
        timeout=30,
    )
    return response.status_code


def exhaust(stack: Stack, key: str) -> None:
    """Spend this host's tokenisations for the window, through the edge."""
    for _ in range(PACED + 1):
        with stack.client(key) as browser:
            status = browser.post("/v1/cards", json=CARD).status_code
        if status == 429:
            return
        assert status == 201
    raise AssertionError("the vault never paced this host")


def test_the_edges_credential_with_another_address_is_believed(
    paced: Stack, paced_shop: MarketplaceKeys
) -> None:
    """The control: a believed X-Forwarded-For is paced on its own, so every 429 below
    is the pace holding, not a vault that never believes anyone."""
    exhaust(paced, paced_shop.pk_test)
    assert (
        vault_post(
            paced,
            paced_shop.pk_test,
            (HEADER, paced.secrets.edge_vault_credential),
            ("x-forwarded-for", "10.1.2.3"),
        )
        == 201
    )


CALLER_HEADERS = {
    "X-Forwarded-For": [("x-forwarded-for", "10.2.0.1")],
    "X-Real-IP": [("x-real-ip", "10.2.0.2")],
    "Forwarded": [("forwarded", "for=10.2.0.3")],
    "several X-Forwarded-For": [("x-forwarded-for", "10.2.0.4"), ("x-forwarded-for", "10.2.0.5")],
    "a made-up credential": [(HEADER, SMUGGLED), ("x-forwarded-for", "10.2.0.6")],
    "an empty credential": [(HEADER, ""), ("x-forwarded-for", "10.2.0.7")],
    "the credential's prefix": [(HEADER, "e"), ("x-forwarded-for", "10.2.0.8")],
    "underscores": [
        ("strongroom_edge_credential", SMUGGLED),
        ("x_forwarded_for", "10.2.0.9"),
    ],
}


@pytest.mark.parametrize("headers", CALLER_HEADERS.values(), ids=CALLER_HEADERS.keys())
def test_a_local_caller_cannot_reset_its_pace(
    paced: Stack, paced_shop: MarketplaceKeys, headers: list[tuple[str, str]]
) -> None:
    exhaust(paced, paced_shop.pk_test)
    assert vault_post(paced, paced_shop.pk_test, *headers) == 429


@pytest.mark.parametrize("headers", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_a_shopper_cannot_reset_its_pace_through_the_edge(
    paced: Stack, paced_shop: MarketplaceKeys, headers: list[str]
) -> None:
    exhaust(paced, paced_shop.pk_test)
    data = request(
        paced_shop.pk_test,
        b'{"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}',
        *headers,
        "Content-Type: application/json",
        "Connection: close",
        target="/v1/cards",
    )
    assert [a.status for a in exchange(paced, data)] == [429]


def test_no_log_of_the_stack_holds_the_edges_credential(
    paced: Stack, paced_shop: MarketplaceKeys
) -> None:
    exhaust(paced, paced_shop.pk_test)
    vault_post(paced, paced_shop.pk_test, (HEADER, paced.secrets.edge_vault_credential))
    credential = paced.secrets.edge_vault_credential.encode()
    root = Path(paced.opts.data_dir)
    holding = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and credential in path.read_bytes()
    ]
    assert holding == ["secrets.json"]  # the dev stack's secrets, and nothing else


def test_an_ipv6_client_cannot_reset_its_pace_within_its_own_64(
    paced: Stack, paced_shop: MarketplaceKeys
) -> None:
    credential = (HEADER, paced.secrets.edge_vault_credential)
    first = [
        vault_post(paced, paced_shop.pk_test, credential, ("x-forwarded-for", "2001:db8:7::1"))
        for _ in range(PACED + 1)
    ]
    assert first == [201] * PACED + [429]  # the edge's address for this client is paced
    neighbour = ("x-forwarded-for", "2001:db8:7::2")
    assert vault_post(paced, paced_shop.pk_test, credential, neighbour) == 429
