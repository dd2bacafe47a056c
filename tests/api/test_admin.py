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
