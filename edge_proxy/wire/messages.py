"""Messages between the edge's server and the handler: requests from parsed heads, and
responses serialised with the edge's own framing."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from urllib.parse import unquote

from edge_proxy.flow import EdgeRequest, EdgeResponse
from edge_proxy.wire.parse import RequestHead

_dates: tuple[int, bytes] = (0, b"")


def http_date() -> bytes:
    """The Date header's value, formatted once a second."""
    global _dates
    now = int(time.time())
    if _dates[0] != now:
        _dates = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _dates[1]


_REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


def _reason(status: int) -> bytes:
    return _REASONS.get(status, b"")


def is_bodiless(status: int) -> bool:
    return status < 200 or status in (204, 304)


def serialize(response: EdgeResponse, *, head: bool, close: bool) -> bytes:
    """Status line, headers and body; Content-Length from the body unless it has none."""
    out = [b"HTTP/1.1 %d %s\r\n" % (response.status_code, _reason(response.status_code))]
    bodiless = head or is_bodiless(response.status_code)
    for name, value in response.headers:
        if not bodiless and name.lower() == b"content-length":
            continue  # the server frames the body it writes, nothing else does
        out.append(name + b": " + value + b"\r\n")
    if not bodiless:
        out.append(b"content-length: %d\r\n" % len(response.body))
    out.append(b"date: " + http_date() + b"\r\n")
    if close:
        out.append(b"connection: close\r\n")
    out.append(b"\r\n")
    if not bodiless:
        out.append(response.body)
    return b"".join(out)


def request_from_head(head: RequestHead, body: bytes, client: str | None) -> EdgeRequest:
    raw_path, _, query = head.target.partition(b"?")
    return EdgeRequest(
        method=head.method,
        path=unquote(raw_path.decode("ascii"), errors="surrogateescape"),
        raw_path=raw_path,
        query_string=query,
        headers=head.headers,
        body=body,
        client=client,
    )
