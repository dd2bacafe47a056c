"""No PAN oracle: test mode takes test cards only, fingerprints stay with secret keys, and
tokenising guesses is paced and refused (docs/vault.md, "Fingerprints")."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from strongroom.testcards import luhn_check_digit
from tests.vault.conftest import (
    KEYS,
    LEAKS,
    MARKETPLACE,
    MARKETPLACE_KEYS,
    luhn_number,
    register_keys,
)
from vault.app import create_app
from vault.config import Settings
from vault.domain.test_network import TEST_CARDS

NEXT_YEAR = dt.datetime.now(dt.UTC).year + 1


def body(number: str, cvc: str = "123") -> dict[str, Any]:
    LEAKS.sent(number, cvc)
    return {"number": number, "exp_month": 12, "exp_year": NEXT_YEAR, "cvc": cvc}


# What the edge proves itself with (VAULT_EDGE_CREDENTIAL); made up for these tests.
EDGE_CREDENTIAL = "edge-credential-for-the-guessing-tests"


def post(
    client: TestClient,
    key: str,
    number: str,
    ip: str = "198.51.100.7",
    credential: str | None = EDGE_CREDENTIAL,
) -> httpx.Response:
    """A tokenisation as the edge forwards it: the client's address and the edge's credential."""
    headers = {"Authorization": f"Bearer {KEYS[key]}", "X-Forwarded-For": ip}
    if credential is not None:
        headers["Strongroom-Edge-Credential"] = credential
    response: httpx.Response = client.post("/v1/cards", json=body(number), headers=headers)
    return response


@pytest.fixture
def paced(
    sqlite_url: str, settings_factory: Callable[..., Settings]
) -> Iterator[Callable[..., TestClient]]:
    """A vault with the default pacing (or the given), and keys of every kind."""
    clients: list[TestClient] = []

    def start(**overrides: Any) -> TestClient:
        defaults = {
            "tokenise_per_client_minute": 30,
            "tokenise_per_key_minute": 600,
            "trusted_proxies": "testclient",  # the test client stands for the edge
            "edge_credential": EDGE_CREDENTIAL,
        }
        settings = settings_factory(database_url=sqlite_url, **{**defaults, **overrides})
        LEAKS.roots.add(settings.data_dir.parent)
        client = TestClient(create_app(settings))
        clients.append(client.__enter__())
        register_keys(client, MARKETPLACE, [KEYS[k] for k in MARKETPLACE_KEYS])
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
    LEAKS.scan_database(sqlite_url)


def same_bin_and_last4(bin_: str, last4: str, count: int) -> Iterator[str]:
    """Luhn-valid numbers BIN + six digits + last four, as a guesser would try them."""
    for middle in range(count * 10):
        partial = f"{bin_}{middle:06d}{last4[:3]}"
        if luhn_check_digit(partial) == last4[3]:
            yield partial + last4[3]


def test_test_mode_takes_every_documented_test_card_and_nothing_else(sqlite_vault) -> None:
    for number in TEST_CARDS:
        cvc = "1234" if number[:2] in ("34", "37") else "123"
        assert sqlite_vault.tokenise(number, cvc=cvc).status_code == 201
    number = luhn_number("4")
    refused = sqlite_vault.tokenise(number)
    assert refused.status_code == 402
    error = refused.json()["error"]
    assert error["code"] == "card_declined" and "test mode takes only" in error["message"]
    assert "4242" in error["message"]  # names the test cards (by their last four)
    entries = [e for e in sqlite_vault.audit_entries() if e["action"] == "tokenize"]
    assert entries[-1]["outcome"] == "refused:card_declined" and entries[-1]["token"] is None
    # Nothing of it was kept: no card row, and its digits in no file of the data dir.
    engine = create_engine(sqlite_vault.settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM cards")).scalar_one()
    engine.dispose()
    assert rows == len(TEST_CARDS)
    for path in sqlite_vault.settings.data_dir.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert number.encode() not in data and number[-10:].encode() not in data, path


def test_a_publishable_key_never_sees_a_fingerprint_and_a_secret_key_does(sqlite_vault) -> None:
    number = luhn_number("5")
    publishable = sqlite_vault.tokenise(number, key="pk_live").json()
    secret = sqlite_vault.tokenise(number, key="sk_live").json()
    assert "fingerprint" not in publishable
    assert len(secret["fingerprint"]) == 22
    assert "fingerprint" not in sqlite_vault.tokenise("4242424242424242").json()


def test_test_and_live_fingerprints_of_one_marketplace_never_meet(sqlite_vault) -> None:
    # Test mode takes only test cards and live mode none of them; and keyed per mode, even
    # one number in both would not give one fingerprint (tests/vault/crypto).
    live = {sqlite_vault.tokenise(luhn_number("4"), key="sk_live").json()["fingerprint"]}
    test = {
        sqlite_vault.tokenise(n, key="sk_test", cvc="1234" if n[:2] in ("34", "37") else "123")
        .json()
        .get("fingerprint")
        for n in TEST_CARDS
    }
    assert len(test) == len(TEST_CARDS) and not live & test


def test_guessing_a_live_cards_hidden_digits_in_test_mode_is_refused_and_paced(paced) -> None:
    client = paced()
    guesses = list(same_bin_and_last4("424242", "4242", 1000))[:1000]
    answers = [post(client, "pk_test", guess).status_code for guess in guesses]
    assert 201 not in answers  # not one guess is tokenised, so none yields anything
    assert answers[:30] == [402] * 30  # refused: no real card enters test mode
    assert set(answers[30:]) == {429}  # and past 30 a minute from one address, paced


def test_guessing_with_a_secret_live_key_is_refused_after_ten_and_alerted(paced, caplog) -> None:
    client = paced()
    guesses = list(same_bin_and_last4("431940", "0019", 1000))[:1000]
    answers = []
    for n, guess in enumerate(guesses):  # from many addresses: only the pattern stops it
        answers.append(post(client, "sk_live", guess, ip=f"203.0.113.{n % 250}").status_code)
    assert answers[:10] == [201] * 10  # ten cards with one BIN and last four in an hour
    refused = answers[10:]
    assert set(refused[:590]) == {402} and set(refused[590:]) == {429}  # 600 a minute a key
    assert any("ALERT card guessing" in r.getMessage() for r in caplog.records)


def test_cards_that_only_share_a_bin_or_a_last_four_are_not_guessing(paced) -> None:
    client = paced()
    for n in range(30):
        number = luhn_number("431940")
        assert post(client, "sk_live", number, ip=f"203.0.113.{n}").status_code == 201


def test_each_client_address_and_each_key_is_paced(paced) -> None:
    client = paced(tokenise_per_client_minute=3, tokenise_per_key_minute=5)
    assert [post(client, "pk_test", "4242424242424242").status_code for _ in range(4)] == [
        201,
        201,
        201,
        429,
    ]
    error = post(client, "pk_test", "4242424242424242").json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit")
    other = [post(client, "pk_test", "4242424242424242", ip="198.51.100.8").status_code]
    other += [post(client, "pk_test", "4242424242424242", ip="198.51.100.9").status_code]
    assert other == [201, 201]  # five for this key in all
    assert post(client, "pk_test", "4242424242424242", ip="198.51.100.10").status_code == 429
    assert post(client, "sk_test", "4242424242424242", ip="198.51.100.10").status_code == 201


def shoppers_tokenise(client: TestClient, credential: str | None = EDGE_CREDENTIAL) -> list[int]:
    """Five Visa test cards, each from a shopper address of its own, as the edge names them
    (with `credential` as the edge's)."""
    visas = [n for n in TEST_CARDS if n.startswith("4")][:5]
    return [
        post(client, "sk_test", n, ip=f"10.9.{i}.1", credential=credential).status_code
        for i, n in enumerate(visas)
    ]


def test_a_caller_the_vault_does_not_trust_is_paced_by_its_own_address(paced) -> None:
    client = paced(tokenise_per_client_minute=3, trusted_proxies="192.0.2.1")
    assert shoppers_tokenise(client) == [201, 201, 201, 429, 429]


def test_the_edge_naming_the_client_gives_each_shopper_a_pace_of_their_own(paced) -> None:
    client = paced(tokenise_per_client_minute=3)
    assert shoppers_tokenise(client) == [201] * 5


@pytest.mark.parametrize(
    "credential",
    [None, "", "not-the-edge-credential-at-all", EDGE_CREDENTIAL[:-1], EDGE_CREDENTIAL + "x"],
    ids=["none", "empty", "wrong", "a-prefix", "longer"],
)
def test_a_trusted_peer_without_the_edges_credential_is_paced_by_its_own_address(
    paced, credential: str | None
) -> None:
    # Any process on the edge's host or subnets has its address: only the credential tells
    # the edge from them. Not refused: paced as the peer it is.
    client = paced(tokenise_per_client_minute=3)
    assert shoppers_tokenise(client, credential) == [201, 201, 201, 429, 429]


def test_the_edges_credential_from_an_untrusted_peer_is_not_believed(paced) -> None:
    client = paced(tokenise_per_client_minute=3, trusted_proxies="192.0.2.1")
    assert shoppers_tokenise(client, EDGE_CREDENTIAL) == [201, 201, 201, 429, 429]


def test_without_an_edge_credential_configured_no_forwarded_address_is_believed(paced) -> None:
    client = paced(tokenise_per_client_minute=3, edge_credential=None)
    assert shoppers_tokenise(client, EDGE_CREDENTIAL) == [201, 201, 201, 429, 429]


def test_either_credential_is_believed_while_the_edges_is_rotated(paced) -> None:
    new = "the-new-edge-credential-after-rotation"
    client = paced(tokenise_per_client_minute=3, edge_credential=f"{new},{EDGE_CREDENTIAL}")
    assert shoppers_tokenise(client, new) == [201] * 5
    assert shoppers_tokenise(client, EDGE_CREDENTIAL) == [201] * 5


def test_the_edges_credential_is_in_no_log_line_nor_file(paced, caplog, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "a-wrong-credential-someone-tried"
    client = paced(tokenise_per_client_minute=3)
    assert shoppers_tokenise(client) == [201] * 5
    assert shoppers_tokenise(client, wrong) == [201, 201, 201, 429, 429]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "request" in logged  # the vault's request lines were captured
    assert EDGE_CREDENTIAL not in logged and wrong not in logged
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "test.db" for p in files)  # the database; the audit log beside it
    for path in files:
        data = path.read_bytes()
        assert EDGE_CREDENTIAL.encode() not in data and wrong.encode() not in data, path
