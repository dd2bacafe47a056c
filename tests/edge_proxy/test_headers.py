from edge_proxy.headers import downstream_headers, upstream_headers
from tests.edge_proxy.cards import tflow


def names(headers: list[tuple[bytes, bytes]]) -> list[str]:
    return [name.decode().lower() for name, _ in headers]


def test_hop_by_hop_and_edge_owned_headers_are_not_forwarded():
    flow = tflow(
        headers=[
            ("host", "api.localhost:8080"),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic abc"),
            ("content-length", "5"),
            ("accept-encoding", "gzip"),
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1"),
            ("x-request-id", "client-chosen-id"),
            ("authorization", "Bearer sk_test_abc"),
            ("content-type", "application/json"),
        ]
    )
    headers = dict((k.decode(), v.decode()) for k, v in upstream_headers(flow.request, "req_1"))
    assert headers == {
        "authorization": "Bearer sk_test_abc",
        "content-type": "application/json",
        "x-request-id": "req_1",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-host": "api.localhost:8080",
        "x-forwarded-proto": "http",
        "accept-encoding": "identity",
    }


def test_response_headers_keep_repeats_and_drop_hop_by_hop():
    raw = [
        (b"Set-Cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
        (b"Connection", b"close"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Content-Length", b"3"),
        (b"Server", b"router"),
        (b"Date", b"x"),
        (b"X-Request-Id", b"other"),
        (b"Content-Type", b"application/json"),
    ]
    assert names(downstream_headers(raw)) == ["set-cookie", "set-cookie", "content-type"]
    assert "content-length" in names(downstream_headers(raw, keep_length=True))
