"""The card network client: what it sends, and answers it does not trust."""

from __future__ import annotations

import pytest

from vault.cardnet import Authorization, CardNetwork, NetworkUnavailable
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
