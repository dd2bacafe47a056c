"""The router against two real upstream stacks on loopback."""

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from router.app import create_app
from router.config import Settings
from tests.helpers.servers import free_port, serving


def echo_stack(name: str) -> Starlette:
    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {
                "stack": name,
                "path": request.url.path,
                "query": request.url.query,
                "body": body.decode(),
            },
            headers={"x-stack": name},
        )

    return Starlette(routes=[Route("/{p:path}", echo, methods=["GET", "POST"])])


@pytest.fixture
def router_url() -> Iterator[str]:
    with serving(echo_stack("test")) as test_url, serving(echo_stack("live")) as live_url:
        settings = Settings(test_url=test_url, live_url=live_url)
        with serving(create_app(settings)) as url:
            yield url


def test_requests_go_to_the_stack_of_their_key(router_url: str) -> None:
    for key, stack in (("sk_test_1", "test"), ("pk_live_2", "live")):
        response = httpx.post(
            router_url + "/v1/charges?expand=card",
            content=b'{"amount": 5}',
            headers={"authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200
        assert response.json() == {
            "stack": stack,
            "path": "/v1/charges",
            "query": "expand=card",
            "body": '{"amount": 5}',
        }
        assert response.headers["x-stack"] == stack


def test_no_key_is_401_and_reaches_no_stack(router_url: str) -> None:
    response = httpx.get(router_url + "/v1/charges")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_api_key"


def test_a_stack_that_is_down_is_502() -> None:
    settings = Settings(test_url=f"http://127.0.0.1:{free_port()}", live_url="http://127.0.0.1:9")
    with serving(create_app(settings)) as url:
        response = httpx.get(url + "/v1/charges", headers={"authorization": "Bearer sk_test_1"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
