"""A vault whose keyring is split among custodians starts sealed and serves nothing until
k of them submit their components to POST /admin/v1/unseal."""

from __future__ import annotations

import logging
import time

import pytest
from starlette.testclient import TestClient

from vault.app import create_app
from vault.crypto.keyring import REFRESH_SECONDS, LocalKeyring

VISA = "4242424242424242"


@pytest.fixture
def sealed(vault):
    """The vault with one card, its keyring split 2 of 3, restarted: (harness, components)."""
    token = vault.token(VISA)
    components = LocalKeyring(vault.settings.keyring_file).split(3, 2)
    with TestClient(create_app(vault.settings)) as client:
        vault.client = client
        vault.card = token
        yield vault, components


def test_a_sealed_vault_serves_nothing_but_health_and_unseal(sealed) -> None:
    vault, _ = sealed
    health = vault.client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "sealed"
    for response in (
        vault.tokenise(VISA),
        vault.charge(vault.card),
        vault.metadata(vault.card),
        vault.command("breaker", scope="*", open=True),
    ):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "vault_sealed"


def test_fewer_than_k_components_do_not_unseal(sealed) -> None:
    vault, components = sealed
    first = vault.unseal(2, components[2])
    assert first.json() == {"sealed": True, "progress": 1, "threshold": 2}
    again = vault.unseal(2, components[2])  # the same custodian twice is still one
    assert again.json()["progress"] == 1
    assert vault.tokenise(VISA).status_code == 503


def test_k_components_unseal_and_the_old_cards_open(sealed) -> None:
    vault, components = sealed
    vault.unseal(3, components[3])
    assert vault.unseal(1, components[1]).json() == {"sealed": False, "progress": 0, "threshold": 2}
    assert vault.client.get("/healthz").status_code == 200
    assert vault.charge(vault.card).json()["status"] == "succeeded"
    assert vault.tokenise(VISA).status_code == 201


def test_a_wrong_component_clears_every_one_submitted_so_far(sealed) -> None:
    vault, components = sealed
    assert vault.unseal(1, components[1]).json()["progress"] == 1
    wrong = bytearray(components[2])
    wrong[0] ^= 1
    refused = vault.unseal(2, bytes(wrong))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "component_invalid"
    assert vault.unseal(3, components[3]).json() == {"sealed": True, "progress": 1, "threshold": 2}
    for custodian, text in ((3, "zz"), (3, components[1].hex()), (4, components[1].hex())):
        assert vault.unseal(custodian, text).status_code == 403
    assert vault.unseal(1, components[1]).json()["sealed"] is True  # cleared again


def test_components_are_never_logged_or_audited(sealed, caplog: pytest.LogCaptureFixture) -> None:
    vault, components = sealed
    caplog.set_level(logging.DEBUG)
    vault.unseal(2, b"\x00" * len(components[2]))
    vault.unseal(1, components[1])
    vault.unseal(2, components[2])
    audit = vault.settings.audit_path.read_text()
    for component in components.values():
        assert component.hex() not in audit and component.hex() not in caplog.text
    actions = [(e["actor"], e["outcome"]) for e in vault.audit_entries() if e["action"] == "unseal"]
    assert actions == [
        ("custodian:2", "refused:component_invalid"),
        ("custodian:1", "accepted:1"),
        ("custodian:2", "accepted:2"),
        ("custodian:2", "unsealed"),
    ]


def test_splitting_a_running_vault_seals_it_within_a_tenth_of_a_second(sqlite_vault) -> None:
    token = sqlite_vault.token(VISA)
    components = LocalKeyring(sqlite_vault.settings.keyring_file).split(2, 2)
    time.sleep(REFRESH_SECONDS)
    assert sqlite_vault.charge(token).status_code == 503
    sqlite_vault.unseal(1, components[1])
    sqlite_vault.unseal(2, components[2])
    assert sqlite_vault.charge(token).json()["status"] == "succeeded"


def test_a_vault_whose_keys_are_not_split_has_nothing_to_unseal(sqlite_vault) -> None:
    response = sqlite_vault.unseal(1, "00" * 32)
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_split"
