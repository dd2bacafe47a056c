"""The edge proves itself to the vault with EDGE_VAULT_CREDENTIAL, sent in
Strongroom-Edge-Credential on every request it forwards there and on no other; a client's
own copy of that header never passes, to the vault or to the router (docs/edge.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge_proxy.__main__ import main
from edge_proxy.config import Settings
from edge_proxy.headers import upstream_headers
from tests.edge_proxy.cards import tflow
from tests.edge_proxy.conftest import Upstreams, running_edge

CREDENTIAL = "the-edges-own-credential-for-tests"
FORGED = "a-client-forged-edge-credential"
CARD = b'{"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}'
HEADER = "strongroom-edge-credential"
# Every way a client might try to pass its own copy through: any case, twice, named in
# Connection (hop-by-hop: dropped anyway).
CLIENT_COPIES = [
    (HEADER, FORGED),
    ("Strongroom-Edge-Credential", FORGED + "2"),
    ("STRONGROOM-EDGE-CREDENTIAL", CREDENTIAL),  # even the right value is not the client's
    ("connection", "keep-alive, strongroom-edge-credential"),
]


def credentials_seen(upstreams: Upstreams) -> list[str]:
    request = upstreams.only()
    return [v.decode() for k, v in request.headers.raw if k.decode().lower() == HEADER]


@pytest.fixture(scope="module")
def proving_edge():
    upstreams = Upstreams()
    with running_edge(upstreams, vault_credential=CREDENTIAL) as client:
        yield client, upstreams


@pytest.mark.parametrize("path", ["/v1/cards", "/v1/tokens"])
def test_the_vault_gets_the_edges_credential_once_and_never_a_clients(proving_edge, path):
    client, upstreams = proving_edge
    upstreams.reset()
    headers = [("host", "api.localhost"), ("content-type", "application/json"), *CLIENT_COPIES]
    response = client.post(path, content=CARD, headers=headers)
    assert response.status_code == 200, response.text
    assert credentials_seen(upstreams) == [CREDENTIAL]
    assert str(upstreams.only().url).startswith("http://vault.internal:8084/v1/")


def test_the_router_never_gets_the_edges_credential_nor_a_clients(proving_edge):
    client, upstreams = proving_edge
    upstreams.reset()
    response = client.get("/v1/charges", headers=[("host", "api.localhost"), *CLIENT_COPIES])
    assert response.status_code == 200, response.text
    assert str(upstreams.only().url).startswith("http://router.internal:8081/")
    assert credentials_seen(upstreams) == []


def test_without_a_credential_the_edge_sends_none_and_still_drops_a_clients():
    upstreams = Upstreams()
    with running_edge(upstreams) as client:
        headers = [("host", "api.localhost"), ("content-type", "application/json")]
        response = client.post("/v1/cards", content=CARD, headers=[*headers, *CLIENT_COPIES])
    assert response.status_code == 200, response.text
    assert credentials_seen(upstreams) == []


def test_upstream_headers_add_the_credential_only_when_given():
    flow = tflow(headers=[("host", "api.localhost"), (HEADER, FORGED)])
    to_vault = upstream_headers(flow.request, "req_1", CREDENTIAL.encode())
    to_router = upstream_headers(flow.request, "req_1")
    assert [v for k, v in to_vault if k == HEADER.encode()] == [CREDENTIAL.encode()]
    assert [v for k, v in to_router if k == HEADER.encode()] == []


@pytest.mark.parametrize(
    "value", ["short", "a credential with spaces", "new-edge-credential,old-one-too", "é" * 20]
)
def test_a_credential_a_header_cannot_carry_whole_stops_the_edge(value, monkeypatch, capsys):
    with pytest.raises(ValidationError):
        Settings(vault_credential=value)
    # As `python -m edge_proxy` starts: the setting named, its value never printed.
    monkeypatch.setenv("EDGE_VAULT_CREDENTIAL", value)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "EDGE_VAULT_CREDENTIAL" in err and value not in err


def test_the_credential_is_never_shown_by_the_settings():
    settings = Settings(vault_credential=CREDENTIAL)
    assert CREDENTIAL not in repr(settings) and CREDENTIAL not in str(settings.model_dump())
