import asyncio

from edge_proxy.app import create_app
from edge_proxy.config import Settings
from edge_proxy.flow import EdgeRequest
from edge_proxy.wire.parse import Malformed
from tests.edge_proxy.conftest import Upstreams


def request(path: str, body: bytes = b"", host: bytes = b"api.localhost") -> EdgeRequest:
    return EdgeRequest(
        "POST",
        path,
        path.encode(),
        headers=[(b"host", host), (b"content-type", b"application/json")],
        body=body,
    )


def test_requests_blocks_and_latencies_are_counted():
    edge = create_app(Settings(), upstreams=Upstreams().fakes())

    async def scenario() -> None:
        await edge.handle(request("/v1/charges", b'{"amount": 1}'))
        await edge.handle(request("/v1/charges", b'{"card": "4242424242424242"}'))
        await edge.handle(request("/v1/charges", host=b"evil.example"))

    asyncio.run(scenario())
    edge.refuse(Malformed("bare LF in head"), "127.0.0.1")
    text = edge.metrics.exposition().decode()
    assert 'edge_requests_total{destination="router",status="2xx"} 1.0' in text
    assert 'edge_blocks_total{reason="pan_detected",where="body"} 1.0' in text
    assert 'edge_blocks_total{reason="misdirected_request",where="-"} 1.0' in text
    assert 'edge_blocks_total{reason="bad_request",where="-"} 1.0' in text
    assert 'edge_upstream_duration_seconds_count{upstream="router"} 1.0' in text
    assert "4242424242424242" not in text
