"""The shop under test, its edge a scripted transport that records what the shop sends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from merchant_demo.app import create_app
from merchant_demo.config import Settings

PK = "pk_test_" + "p" * 32
SK = "sk_test_" + "s" * 32
MANIFEST = {
    "strongroom.js": {"file": "strongroom.0123456789abcdef.js", "integrity": "sha384-abc"},
    "fields.html": {"file": "fields.0123456789abcdef.html", "integrity": "sha384-def"},
}


def settings(**overrides: Any) -> Settings:
    return Settings.model_validate({"pk_test": PK, "sk_test": SK, **overrides})


class FakeEdge:
    """The edge as the shop reaches it: manifest.json on the js host, charges on the api."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.charge: Callable[[httpx.Request], httpx.Response] = self.succeeded
        self.manifest: httpx.Response = httpx.Response(200, json=MANIFEST)

    @staticmethod
    def succeeded(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            201,
            json={"id": "ch_1", "status": "succeeded", "amount": body["amount"], "currency": "usd"},
        )

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.url.path == "/manifest.json" and request.headers["host"] == "js.localhost:8080":
            return self.manifest
        if request.url.path == "/v1/charges" and request.headers["host"] == "api.localhost:8080":
            return self.charge(request)
        return httpx.Response(404, json={"error": {"code": "not_found"}})


@pytest.fixture
def edge() -> FakeEdge:
    return FakeEdge()


@pytest.fixture
def shop(edge: FakeEdge) -> Iterator[TestClient]:
    app = create_app(settings(), transport=httpx.MockTransport(edge.handler))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client
