"""VAULT_TRUSTED_PROXIES takes the edge's addresses and its subnets."""

from vault.trusted import TrustedProxies


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
