"""The card network client: what it sends, and answers it does not trust."""

from __future__ import annotations

import socket
import threading

import pytest

from vault.cardnet import Authorization, CardNetwork, NetworkUnavailable, first_answer
from vault.domain.secret import Pan


def _authorization() -> Authorization:
    return Authorization("ch_1", "mkt_alpha", Pan("4242424242424242"), 12, 2040, None, 500, "usd")


def test_a_request_without_cvc_sends_no_cvc_field(network) -> None:
    client = CardNetwork(network.url, "cred-0123456789abcdef", 2.0)
    outcome = client.authorize(_authorization())
    client.close()
    assert outcome.approved and outcome.authorization_code == "NET123"
    assert "cvc" not in network.received[0]
    assert network.headers == ["Bearer cred-0123456789abcdef"]


@pytest.mark.parametrize(
    "reply",
    [{"approved": "yes", "code": "approved"}, {"code": "approved"}, ["approved"]],
)
def test_a_malformed_answer_is_network_unavailable(network, reply: object) -> None:
    network.reply = reply
    client = CardNetwork(network.url, "cred-0123456789abcdef", 2.0)
    with pytest.raises(NetworkUnavailable):
        client.authorize(_authorization())
    client.close()


def test_an_odd_authorization_code_is_dropped(network) -> None:
    network.reply = {"approved": True, "code": "approved", "authorization_code": "<script>"}
    client = CardNetwork(network.url, "cred-0123456789abcdef", 2.0)
    assert client.authorize(_authorization()).authorization_code is None
    client.close()


def test_an_unreachable_network_is_network_unavailable() -> None:
    client = CardNetwork("http://127.0.0.1:9", "cred-0123456789abcdef", 1.0)
    with pytest.raises(NetworkUnavailable):
        client.authorize(_authorization())
    client.close()


def test_a_refused_connection_was_never_sent() -> None:
    # Nothing listens on the discard port: no connection, so no request left.
    client = CardNetwork("http://127.0.0.1:9", "cred-0123456789abcdef", 1.0)
    with pytest.raises(NetworkUnavailable) as refused:
        client.authorize(_authorization())
    assert refused.value.sent is False
    # So the charge is declined at once: nothing can have moved.
    answer = first_answer(lambda: client.authorize(_authorization()), 0.0)
    client.close()
    assert answer.failure_code == "processing_error"


def _one_shot_server(answer: bytes) -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """A server that reads one request, answers `answer` (raw bytes, maybe nothing) and
    closes: what the client then knows of a request that did leave."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
            )
            while len(body) < length:
                body += conn.recv(65536)
            seen.append(head)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread, seen


@pytest.mark.parametrize(
    "answer",
    [b"", b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"appr'],
    ids=["closed-without-answer", "truncated-answer"],
)
def test_a_request_that_left_but_got_no_whole_answer_was_sent(answer: bytes) -> None:
    listener, thread, seen = _one_shot_server(answer)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = CardNetwork(url, "cred-0123456789abcdef", 2.0)
    with pytest.raises(NetworkUnavailable) as lost:
        client.authorize(_authorization())
    client.close()
    thread.join(5)
    listener.close()
    assert seen and seen[0].startswith(b"POST /v1/authorizations HTTP/1.1")
    assert lost.value.sent is True  # asked again under its key, never called declined


def test_a_redirect_is_not_followed() -> None:
    redirect = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/x\r\n"
    listener, thread, seen = _one_shot_server(redirect + b"Content-Length: 0\r\n\r\n")
    client = CardNetwork(f"http://127.0.0.1:{listener.getsockname()[1]}", "c" * 24, 2.0)
    with pytest.raises(NetworkUnavailable):
        client.authorize(_authorization())
    client.close()
    thread.join(5)
    listener.close()
    assert len(seen) == 1


def test_the_request_id_and_the_base_urls_path_reach_the_network() -> None:
    from vault.logs import REQUEST_ID

    approved = b'{"approved":true,"code":"approved","authorization_code":"NET9"}'
    listener, thread, seen = _one_shot_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(approved), approved)
    )
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/network/"
    client = CardNetwork(url, "cred-0123456789abcdef", 2.0)
    token = REQUEST_ID.set("req_cardnet_1")
    try:
        assert client.authorize(_authorization()).authorization_code == "NET9"
    finally:
        REQUEST_ID.reset(token)
        client.close()
    thread.join(5)
    listener.close()
    head = seen[0].lower().split(b"\r\n")
    assert head[0] == b"post /network/v1/authorizations http/1.1"
    assert b"x-request-id: req_cardnet_1" in head
    assert b"content-type: application/json" in head


def test_a_proxy_in_the_environment_is_not_used(network, monkeypatch) -> None:
    # Card data goes straight to the configured network, never through a proxy named by
    # the environment (here one that does not exist: used, the request would fail).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    client = CardNetwork(network.url, "cred-0123456789abcdef", 2.0)
    try:
        assert client.authorize(_authorization()).approved
    finally:
        client.close()
