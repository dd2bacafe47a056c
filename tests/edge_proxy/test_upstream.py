import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from edge_proxy.upstream import Upstream, make_client
from tests.edge_proxy.conftest import Upstreams, running_edge
from tests.helpers.servers import free_port, serving


def test_urls_keep_the_path_and_query_as_sent():
    upstream = Upstream(make_client(1), "http://router.internal:8081/base/", "router")
    url = upstream.url(b"/v1/a%2Fb", b"x=%20y&z")
    assert url.raw_path == b"/base/v1/a%2Fb?x=%20y&z"
    assert url.host == "router.internal" and url.port == 8081


def test_the_client_adds_no_defaults_of_its_own():
    assert "user-agent" not in make_client(1).headers
    assert "accept-encoding" not in make_client(1).headers


def test_an_unreachable_upstream_is_502():
    closed = f"http://127.0.0.1:{free_port()}"
    with running_edge(router_url=closed, vault_url=closed) as edge:
        for path in ("/v1/charges", "/v1/cards"):
            response = edge.post(path, json={})
            assert response.status_code == 502
            assert response.json()["error"]["code"] == "upstream_unavailable"


def test_a_slow_upstream_is_504():
    upstreams = Upstreams()

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    upstreams.replies["router"] = timeout
    with running_edge(upstreams) as edge:
        response = edge.get("/v1/charges")
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "upstream_timeout"


def recording_service(name: str, seen: list[tuple[str, str, bytes, str | None]]) -> Starlette:
    async def record(request: Request) -> JSONResponse:
        body = await request.body()
        seen.append((name, request.url.path, body, request.headers.get("x-request-id")))
        return JSONResponse({"service": name}, headers={"x-service": name})

    return Starlette(routes=[Route("/{p:path}", record, methods=["GET", "POST"])])


def test_real_upstreams_over_the_pooled_client():
    seen: list[tuple[str, str, bytes, str | None]] = []
    with (
        serving(recording_service("vault", seen)) as vault_url,
        serving(recording_service("router", seen)) as router_url,
        running_edge(vault_url=vault_url, router_url=router_url) as edge,
    ):
        card = b'{"number": "4242424242424242"}'
        first = edge.post("/v1/cards", content=card)
        second = edge.post("/v1/charges", json={"card": "card_1", "amount": 5})
        third = edge.post("/v1/charges", json={"card": "4242424242424242"})
    assert (first.json(), first.headers["x-service"]) == ({"service": "vault"}, "vault")
    assert second.json() == {"service": "router"}
    assert third.status_code == 400
    assert [(s[0], s[1], s[3]) for s in seen] == [
        ("vault", "/v1/cards", first.headers["x-request-id"]),
        ("router", "/v1/charges", second.headers["x-request-id"]),
    ]
    assert seen[0][2] == card
