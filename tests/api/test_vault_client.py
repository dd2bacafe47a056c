"""The API's vault client on a real socket: a pooled connection the vault closed is not
the vault's answer."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from api.clients.vault import KnownCards, VaultCard, VaultClient, VaultUnreachable
from servicekit import UpstreamError
from tests.helpers.servers import free_port

TOKEN = "card_" + "c" * 24
CARD = {
    "id": TOKEN,
    "marketplace": "mkt_1",
    "livemode": False,
    "brand": "visa",
    "bin": "424242",
    "last4": "4242",
    "exp_month": 12,
    "exp_year": 2040,
    "fingerprint": "f" * 16,
}


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data


@pytest.fixture
def restarting_vault() -> Iterator[tuple[str, list[int]]]:
    """A vault that answers the first request of each connection and keeps it open, then
    closes it unanswered when a second request comes on it: what a pooled connection to a
    vault restarted since looks like. Yields its URL and the requests each connection read."""
    server = socket.create_server(("127.0.0.1", free_port()))
    body = json.dumps(CARD).encode()
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    answer += b"content-length: %d\r\n\r\n%s" % (len(body), body)
    served: list[int] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            if _read_request(conn):
                served.append(1)  # before the answer: the client may assert once it has it
                conn.sendall(answer)
            if _read_request(conn):
                served[-1] += 1  # read, never answered: the connection just closes

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    host, port = server.getsockname()
    try:
        yield f"http://{host}:{port}", served
    finally:
        server.close()


def test_a_dead_pooled_connection_is_retried_on_a_fresh_one(restarting_vault) -> None:
    url, served = restarting_vault
    client = VaultClient(url, "credential", timeout=5.0)
    try:
        assert client.card(TOKEN, "mkt_1").last4 == "4242"
        assert client.card(TOKEN, "mkt_1").last4 == "4242"
    finally:
        client.close()
    # The second call went out on the pooled connection, which closed, then on a new one.
    assert served == [2, 1]


def test_a_vault_that_refuses_connections_is_unreachable() -> None:
    client = VaultClient(f"http://127.0.0.1:{free_port()}", "credential", timeout=5.0)
    try:
        with pytest.raises(VaultUnreachable):  # never sent: the charge was never made
            client.state("ch_" + "x" * 24, "mkt_1")
        with pytest.raises(UpstreamError) as info:  # a read: a retryable 502 to any caller
            client.card(TOKEN, "mkt_1")
        assert info.value.status_code == 502
    finally:
        client.close()


def test_a_card_read_once_is_answered_from_memory_when_asked_cached(restarting_vault) -> None:
    url, _ = restarting_vault
    reading = VaultClient(url, "credential", timeout=5.0)
    gone = VaultClient(f"http://127.0.0.1:{free_port()}", "credential", timeout=5.0)
    try:
        first = reading.card(TOKEN, "mkt_1", cached=True)
        assert reading.card(TOKEN, "mkt_1", cached=True) == first
        gone._known.put(first)  # as if read before the vault went away
        assert gone.card(TOKEN, "mkt_1", cached=True) == first  # no call made
        with pytest.raises(UpstreamError):  # uncached, it is asked, and is unavailable
            gone.card(TOKEN, "mkt_1")
    finally:
        reading.close()
        gone.close()


def test_known_cards_drop_the_least_recently_used_and_key_by_marketplace() -> None:
    known = KnownCards(size=2)
    cards = [VaultCard.model_validate({**CARD, "id": f"card_{n}" + "c" * 23}) for n in "abc"]
    known.put(cards[0])
    known.put(cards[1])
    assert known.get(cards[0].id, "mkt_1") == cards[0]  # now the most recently used
    known.put(cards[2])
    assert known.get(cards[1].id, "mkt_1") is None
    assert known.get(cards[0].id, "mkt_1") == cards[0]
    assert known.get(cards[0].id, "mkt_2") is None  # another marketplace's answer is its own
