"""VAULT_TRUSTED_PROXIES takes the edge's addresses and its subnets; VAULT_EDGE_CREDENTIAL
is what the edge proves itself with, and X-Forwarded-For is believed only with both."""

import pytest
from pydantic import ValidationError

from vault.trusted import TrustedEdge, TrustedProxies, paced_as


def test_an_address_in_a_trusted_subnet_is_believed_and_one_outside_is_not():
    proxies = TrustedProxies("10.0.0.0/20, 10.0.16.0/20,192.0.2.7")
    assert "10.0.3.4" in proxies and "10.0.17.1" in proxies and "192.0.2.7" in proxies
    assert "10.0.32.1" not in proxies and "192.0.2.8" not in proxies


def test_nothing_is_believed_by_default_nor_a_peer_without_an_address():
    assert "127.0.0.1" not in TrustedProxies("")
    assert "-" not in TrustedProxies("10.0.0.0/8")


def test_a_name_is_compared_as_written():
    assert "testclient" in TrustedProxies("testclient")
    assert "testclient2" not in TrustedProxies("testclient")


# --- the edge's credential (VAULT_EDGE_CREDENTIAL) -----------------------------------------

EDGE = "edge-credential-for-the-unit-tests"


def test_the_forwarded_address_is_believed_from_a_trusted_peer_with_the_credential():
    edge = TrustedEdge("10.0.0.0/20", EDGE)
    assert edge.client("10.0.3.4", " 198.51.100.7 ", EDGE) == "198.51.100.7"


@pytest.mark.parametrize(
    "given", [None, "", "wrong-credential-of-some-length", EDGE[:-1], EDGE * 2]
)
def test_a_trusted_peer_without_the_right_credential_is_its_own_client(given):
    assert TrustedEdge("10.0.0.0/20", EDGE).client("10.0.3.4", "198.51.100.7", given) == "10.0.3.4"


def test_an_untrusted_peer_is_its_own_client_even_with_the_credential():
    assert TrustedEdge("10.0.0.0/20", EDGE).client("10.0.32.1", "198.51.100.7", EDGE) == "10.0.32.1"


def test_nothing_is_believed_without_a_credential_configured_nor_an_empty_forwarded():
    assert TrustedEdge("10.0.0.0/20", None).client("10.0.3.4", "198.51.100.7", "") == "10.0.3.4"
    assert TrustedEdge("10.0.0.0/20", "").client("10.0.3.4", "198.51.100.7", "") == "10.0.3.4"
    assert TrustedEdge("10.0.0.0/20", EDGE).client("10.0.3.4", " ", EDGE) == "10.0.3.4"


def test_a_new_and_an_old_credential_are_both_believed_while_rotating():
    edge = TrustedEdge("10.0.0.0/20", f"the-new-edge-credential, {EDGE}")
    assert edge.client("10.0.3.4", "198.51.100.7", "the-new-edge-credential") == "198.51.100.7"
    assert edge.client("10.0.3.4", "198.51.100.8", EDGE) == "198.51.100.8"
    assert edge.client("10.0.3.4", "198.51.100.9", "the-new-edge-credential,") == "10.0.3.4"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("short", "16 or more"),
        ("an edge credential with spaces", "16 or more"),
        ("edge-credential-\u00e9\u00e9\u00e9\u00e9", "16 or more"),
        ("edge-credential-good-one,", "16 or more"),
    ],
)
def test_a_credential_a_header_cannot_carry_well_stops_the_vault(settings_factory, value, why):
    with pytest.raises(ValidationError, match=why):
        settings_factory(edge_credential=value)


def test_the_edge_credential_cannot_be_an_api_stacks(settings_factory):
    test_credential = settings_factory().test_credential.get_secret_value()
    with pytest.raises(ValidationError, match="must differ"):
        settings_factory(edge_credential=f"{EDGE},{test_credential}")
    settings = settings_factory(edge_credential=EDGE)
    assert EDGE not in repr(settings) and EDGE not in str(settings.model_dump())


def test_an_ipv6_client_is_paced_by_its_64_and_ipv4_as_written() -> None:
    assert paced_as("2001:db8:7::1") == paced_as("2001:db8:7::ffff:2") == "2001:db8:7::/64"
    assert paced_as("2001:db8:8::1") == "2001:db8:8::/64"
    assert paced_as("203.0.113.9") == "203.0.113.9"
    assert paced_as("::ffff:203.0.113.9") == "::ffff:203.0.113.9"  # an IPv4 client, mapped
    assert paced_as("testclient") == "testclient"
