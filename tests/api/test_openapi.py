"""The OpenAPI document describes exactly the routes the app serves."""

from __future__ import annotations

from starlette.routing import Route

from api.app import create_app
from api.config import Settings
from api.openapi import document


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    settings = Settings(
        mode="test", key_hash_secret="s" * 16, vault_credential="v", fraud_credential="f"
    )
    served = {
        (method.lower(), route.path)
        for route in create_app(settings).routes
        if isinstance(route, Route) and route.path.startswith("/v1/")
        for method in route.methods or ()
        if method != "HEAD" and route.path != "/v1/openapi.json"
    }
    documented = {(method, path) for path, item in document()["paths"].items() for method in item}
    # The vault serves these two; the edge sends them there (they never reach the API).
    assert served == documented - {("post", "/v1/cards"), ("post", "/v1/tokens")}


def test_every_post_takes_an_idempotency_key_and_every_error_has_the_envelope() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            takes_key = method == "post" and path not in ("/v1/cards", "/v1/tokens")
            assert takes_key == (headers == ["Idempotency-Key"]), (method, path)
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}


def test_the_document_is_served_without_a_key(sqlite_stacks) -> None:
    import httpx

    response = httpx.get(sqlite_stacks.urls["api-test"] + "/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"


def test_the_version_installs_and_operations_read_as_methods() -> None:
    from packaging.version import Version

    info = document()["info"]
    assert str(Version(info["version"])) == info["version"]  # PEP 440: a client installs
    assert info["x-api-version"] == "2025-01-01"
    ids = [op["operationId"] for item in document()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert {"create_charge", "capture_charge", "list_customer_sources", "create_token"} <= set(ids)
    assert "charge.succeeded" in document()["webhooks"]
    charge = document()["paths"]["/v1/charges"]["post"]
    assert {"402", "409", "429"} <= set(charge["responses"])
