"""/admin/v1: marketplaces and key rolls for the operator's command, behind the admin credential."""

from __future__ import annotations

import httpx

from tests.api.conftest import Stacks


def admin(stacks: Stacks, credential: str | None = None) -> httpx.Client:
    token = credential or stacks.secrets.api_admin_credential
    return httpx.Client(
        base_url=stacks.urls["api-test"], headers={"authorization": f"Bearer {token}"}
    )


def test_a_marketplace_made_by_the_admin_endpoint_is_listed_and_its_key_works(
    sqlite_stacks: Stacks,
) -> None:
    key = "sk_test_adminMadeKey0123456789abcdef"
    with admin(sqlite_stacks) as client:
        made = client.post(
            "/admin/v1/marketplaces", json={"id": "mkt_adminmade", "name": "Admin", "keys": [key]}
        )
        assert made.status_code == 201, made.text
        again = client.post(
            "/admin/v1/marketplaces", json={"id": "mkt_adminmade", "name": "Admin", "keys": [key]}
        )
        assert again.status_code == 409
        listed = client.get("/admin/v1/marketplaces").json()["data"]
    assert "mkt_adminmade" in [m["id"] for m in listed]
    with sqlite_stacks.client(key) as merchant:
        assert merchant.get("/v1/marketplace").json()["id"] == "mkt_adminmade"


def test_without_the_admin_credential_nothing_is_served(sqlite_stacks: Stacks) -> None:
    shop = sqlite_stacks.marketplace()
    for credential in ("wrong-credential-0123456789", shop.sk_test):
        with admin(sqlite_stacks, credential) as client:
            assert client.get("/admin/v1/marketplaces").status_code == 401
            body = {"id": "mkt_intruder", "name": "x", "keys": ["sk_test_intruderKey0123456789"]}
            assert client.post("/admin/v1/marketplaces", json=body).status_code == 401


def test_a_malformed_request_is_400_naming_the_field(sqlite_stacks: Stacks) -> None:
    with admin(sqlite_stacks) as client:
        bad = client.post("/admin/v1/marketplaces", json={"id": "nope", "name": "x", "keys": []})
    assert bad.status_code == 400 and bad.json()["error"]["param"] in ("id", "keys")


def test_a_body_is_read_only_as_the_json_it_is_labelled(sqlite_stacks: Stacks) -> None:
    """The admin body is read by the contract every body is: labelled JSON, no coding, no
    key given twice (pydantic's own JSON reader would keep the last of two)."""
    key = b"sk_test_twiceNamedKey0123456789abc"
    body = b'{"id": "mkt_twicenamed", "name": "A", "name": "B", "keys": ["%s"]}' % key
    as_json = {"content-type": "application/json"}
    with admin(sqlite_stacks) as client:
        twice = client.post("/admin/v1/marketplaces", content=body, headers=as_json)
        assert (twice.status_code, twice.json()["error"]["code"]) == (400, "invalid_json")
        good = b'{"id": "mkt_unlabelled", "name": "A", "keys": ["sk_test_unlabelledKey012345678"]}'
        unlabelled = client.post(
            "/admin/v1/marketplaces", content=good, headers={"content-type": "text/plain"}
        )
        assert (unlabelled.status_code, unlabelled.json()["error"]["code"]) == (
            415,
            "unsupported_media_type",
        )
        listed = client.get("/admin/v1/marketplaces").json()["data"]
    assert {"mkt_twicenamed", "mkt_unlabelled"}.isdisjoint(m["id"] for m in listed)
