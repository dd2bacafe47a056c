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
    assert served == documented


def test_every_post_takes_an_idempotency_key_and_every_error_has_the_envelope() -> None:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
            assert (method == "post") == (headers == ["Idempotency-Key"]), (method, path)
            error = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}


def test_the_document_is_served_without_a_key(sqlite_stacks) -> None:
    import httpx

    response = httpx.get(sqlite_stacks.urls["api-test"] + "/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
