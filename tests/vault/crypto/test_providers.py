"""The KeyProvider contract, on the local keyring and on Transit of a real OpenBao server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.crypto.keyring import KeyProvider, KeyringError, LocalKeyring
from vault.crypto.transit import TransitKeys


@pytest.fixture(params=["local", "transit"])
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KeyProvider]:
    if request.param == "local":
        yield LocalKeyring(tmp_path / "keyring.json")
    else:
        url, token = request.getfixturevalue("openbao")
        yield TransitKeys(url, token, "test-" + secrets.token_hex(4), "transit", 5.0)


def test_a_wrapped_key_unwraps_under_its_version(provider: KeyProvider) -> None:
    dek = os.urandom(32)
    version, wrapped = provider.wrap(dek)
    assert version == provider.current == 1
    assert dek not in wrapped
    assert provider.unwrap(version, wrapped) == dek


def test_rotation_adds_a_version_and_old_ones_stay_readable(provider: KeyProvider) -> None:
    old_dek = os.urandom(32)
    old = provider.wrap(old_dek)
    assert provider.rotate() == 2 == provider.current
    new_dek = os.urandom(32)
    new = provider.wrap(new_dek)
    assert new[0] == 2
    assert provider.unwrap(*old) == old_dek
    assert provider.unwrap(*new) == new_dek


def test_rewrap_moves_a_key_to_the_current_version(provider: KeyProvider) -> None:
    dek = os.urandom(32)
    old = provider.wrap(dek)
    provider.rotate()
    version, wrapped = provider.rewrap(*old)
    assert version == 2 and wrapped != old[1]
    assert provider.unwrap(version, wrapped) == dek


def test_a_retired_version_is_refused(provider: KeyProvider) -> None:
    old = provider.wrap(os.urandom(32))
    provider.rotate()
    current = provider.wrap(os.urandom(32))
    provider.retire(2)
    with pytest.raises(KeyringError):
        provider.unwrap(*old)
    with pytest.raises(KeyringError):
        provider.rewrap(*old)
    provider.unwrap(*current)
    with pytest.raises(KeyringError):
        provider.retire(3)  # the current version is the newest that can be retired


def test_a_wrapped_key_is_refused_under_another_version_or_tampered(
    provider: KeyProvider,
) -> None:
    version, wrapped = provider.wrap(os.urandom(32))
    provider.rotate()
    with pytest.raises(KeyringError):
        provider.unwrap(2, wrapped)
    tampered = wrapped[:-3] + (b"AAA" if wrapped[-3:] != b"AAA" else b"BBB")
    with pytest.raises(KeyringError):
        provider.unwrap(version, tampered)


def test_an_unreachable_transit_is_a_keyring_error(openbao: tuple[str, str]) -> None:
    url, token = openbao
    with pytest.raises(KeyringError):
        TransitKeys(url, "not-the-token", "k", "transit", 5.0)
    with pytest.raises(KeyringError):
        TransitKeys("http://127.0.0.1:9", token, "k", "transit", 1.0)


def test_transit_over_tls_is_verified_against_its_ca_file_alone(
    openbao_tls: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, token, ca_file = openbao_tls
    dek = os.urandom(32)
    keys = TransitKeys(url, token, "tls-" + secrets.token_hex(4), "transit", 5.0, ca_file)
    assert keys.unwrap(*keys.wrap(dek)) == dek
    # Without its CA: the system's roots do not know it, and nothing is sent.
    with pytest.raises(KeyringError):
        TransitKeys(url, token, "tls-" + secrets.token_hex(4), "transit", 5.0)
    # Nothing from the environment: not its CA bundle, not a proxy (a dead port here).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(ca_file))
    with pytest.raises(KeyringError):
        TransitKeys(url, token, "tls-" + secrets.token_hex(4), "transit", 5.0)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    proxied = TransitKeys(url, token, "tls-" + secrets.token_hex(4), "transit", 5.0, ca_file)
    assert proxied.unwrap(*proxied.wrap(dek)) == dek
